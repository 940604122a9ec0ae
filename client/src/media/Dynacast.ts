/**
 * Dynacast, publisher side: encode only what the SFU says someone watches. Simulcast
 * encodings above the wanted layer are set inactive (all of them for -1); an SVC or
 * single-encoding producer is switched off and on as a whole. One change at a time per
 * producer, the latest wins.
 */
import { measure } from './marks.ts';
import type { LocalProducer } from './types.ts';

/** Attempts per change, and the wait between them (times the attempt). */
const MAX_ATTEMPTS = 5;
const RETRY_MS = 150;

export class Dynacast {
	/** The highest spatial layer the SFU wants per local producer, and what is applied. */
	readonly #wanted = new Map<string, number>();
	readonly #applied = new Map<string, number>();
	readonly #tasks = new Map<string, Promise<void>>();

	/**
	 * The SFU asked for at most `maxSpatialLayer` of a producer (applied now if it exists).
	 * The same figure again (the SFU repeats it for a new viewer) has the sender checked: its
	 * encodings are set straight if they drifted from it.
	 */
	want(producerId: string, maxSpatialLayer: number, producer: LocalProducer | undefined): void {
		this.#wanted.set(producerId, maxSpatialLayer);
		if (!producer) return;
		if (maxSpatialLayer !== this.#applied.get(producerId) || this.#tasks.has(producerId)) {
			this.apply(producer);
			return;
		}
		const encodings = producer.rtpParameters.encodings ?? [];
		const active = (i: number): boolean => (encodings.length > 1 ? i <= maxSpatialLayer : maxSpatialLayer >= 0);
		setEncodingsActive(producer, active).then(
			(fixed) => {
				if (fixed) console.warn(`[parley] dynacast: the ${producer.appData.source} encoder had drifted from layer ${maxSpatialLayer}; set again`);
			},
			() => {},
		);
	}

	/** What is applied to a producer (undefined: never asked). */
	appliedFor(producerId: string): number | undefined {
		return this.#applied.get(producerId);
	}

	apply(producer: LocalProducer): void {
		if (this.#tasks.has(producer.id)) return;
		const task = (async () => {
			let failures = 0;
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
					if (producer.closed) break;
					// Another setParameters on the same sender at the same moment (mediasoup-client's
					// own, the degradation preference) makes this one fail: try again shortly, or the
					// encoder stays as it was and a viewer waits for frames that never come.
					if (++failures > MAX_ATTEMPTS) {
						console.warn(`[parley] dynacast change to layer ${wanted} failed ${failures} times: ${String(error)}`);
						break;
					}
					await new Promise((resolve) => setTimeout(resolve, RETRY_MS * failures));
					continue;
				}
				failures = 0;
				this.#applied.set(producer.id, wanted);
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

/** Turn encodings on or off straight on the RTCRtpSender (no SDP renegotiation). Resolves whether anything changed. */
async function setEncodingsActive(producer: LocalProducer, active: (index: number) => boolean): Promise<boolean> {
	const sender = producer.rtpSender;
	if (!sender || producer.closed) return false;
	const parameters = sender.getParameters();
	if (parameters.encodings.every((e, i) => e.active === active(i))) return false;
	parameters.encodings.forEach((encoding, i) => {
		encoding.active = active(i);
	});
	await sender.setParameters(parameters);
	return true;
}
