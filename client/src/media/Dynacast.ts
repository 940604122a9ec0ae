/**
 * Dynacast, publisher side: encode only what the SFU says someone watches. Simulcast
 * encodings above the wanted layer are set inactive (all of them for -1); an SVC or
 * single-encoding producer is switched off and on as a whole. One change at a time per
 * producer, the latest wins.
 */
import { measure } from './marks.ts';
import type { LocalProducer } from './types.ts';

export class Dynacast {
	/** The highest spatial layer the SFU wants per local producer, and what is applied. */
	readonly #wanted = new Map<string, number>();
	readonly #applied = new Map<string, number>();
	readonly #tasks = new Map<string, Promise<void>>();
	/** What was last applied per source, kept across sessions (a producer published again starts there). */
	readonly #lastBySource = new Map<string, number>();

	/** The SFU asked for at most `maxSpatialLayer` of a producer (applied now if it exists). */
	want(producerId: string, maxSpatialLayer: number, producer: LocalProducer | undefined): void {
		this.#wanted.set(producerId, maxSpatialLayer);
		if (producer) this.apply(producer);
	}

	/**
	 * The simulcast encoding a new producer of this source should start with: the last one
	 * applied to a producer of it (undefined: never asked, or nobody watched it).
	 */
	startLayer(source: string): number | undefined {
		const last = this.#lastBySource.get(source);
		return last !== undefined && last >= 0 ? last : undefined;
	}

	/** What is applied to a producer (undefined: never asked). */
	appliedFor(producerId: string): number | undefined {
		return this.#applied.get(producerId);
	}

	apply(producer: LocalProducer): void {
		if (this.#tasks.has(producer.id)) return;
		const task = (async () => {
			for (;;) {
				const wanted = this.#wanted.get(producer.id);
				if (wanted === undefined || producer.closed || wanted === this.#applied.get(producer.id)) break;
				const start = performance.now();
				try {
					const encodings = producer.rtpParameters.encodings ?? [];
					if (encodings.length > 1) {
						// Straight on the sender first (quick: what a new viewer waits for), then through
						// mediasoup-client, which renegotiates to mark the paused layers in the SDP (else a
						// later renegotiation would turn them back on).
						await setEncodingsActive(producer, (i) => i <= wanted);
						measure(`dynacast-sender-${producer.appData.source}-${wanted}`, start);
						await producer.setMaxSpatialLayer(wanted);
					} else {
						await setEncodingsActive(producer, () => wanted >= 0);
					}
				} catch (error) {
					if (!producer.closed) console.warn('[parley] dynacast change failed', error);
					break;
				}
				this.#applied.set(producer.id, wanted);
				if (encodingsOf(producer) > 1) this.#lastBySource.set(producer.appData.source, wanted);
				measure(`dynacast-${producer.appData.source}-${wanted}`, start);
			}
		})().finally(() => this.#tasks.delete(producer.id));
		this.#tasks.set(producer.id, task);
	}

	reset(): void {
		this.#wanted.clear();
		this.#applied.clear();
		this.#tasks.clear();
	}
}

const encodingsOf = (producer: LocalProducer): number => producer.rtpParameters.encodings?.length ?? 0;

/** Turn encodings on or off straight on the RTCRtpSender (no SDP renegotiation). */
async function setEncodingsActive(producer: LocalProducer, active: (index: number) => boolean): Promise<void> {
	const sender = producer.rtpSender;
	if (!sender) return;
	const parameters = sender.getParameters();
	if (parameters.encodings.every((e, i) => e.active === active(i))) return;
	parameters.encodings.forEach((encoding, i) => {
		encoding.active = active(i);
	});
	await sender.setParameters(parameters);
}
