/**
 * Dynacast, publisher side: encode only what the SFU says someone watches. Simulcast
 * encodings above the wanted layer are set inactive (all of them for -1); an SVC or
 * single-encoding producer is switched off and on as a whole. One change at a time per
 * producer, the latest wins. A cap (UplinkGuard: the uplink is lossy) lowers what the SFU
 * asked for, and gives the lowest layer its held frame rate meanwhile. A hold (media moved to
 * another worker) keeps the camera to its lowest layer for a while.
 */
import { measure } from './marks.ts';
import { tuning } from './tuning.ts';
import type { LocalProducer } from './types.ts';

interface Applied {
	layer: number;
	/** maxFramerate given to the lowest layer (null: left as produced). */
	lowFps: number | null;
}

export class Dynacast {
	/** The highest spatial layer the SFU wants per local producer, and what is applied. */
	readonly #wanted = new Map<string, number>();
	readonly #applied = new Map<string, Applied>();
	readonly #caps = new Map<string, Applied>();
	readonly #tasks = new Map<string, Promise<void>>();
	/** What was last applied per source, kept across sessions (a producer published again starts there). */
	readonly #lastBySource = new Map<string, number>();
	/** Until when (performance.now()) simulcast producers keep to their lowest layer (0: no hold). */
	#holdUntil = 0;
	#holdTimer: ReturnType<typeof setTimeout> | undefined;

	/**
	 * Media moved to another worker: the camera publishes only its lowest simulcast layer for `ms`, then what
	 * the SFU wants (`producers`: the ones to raise then). Every page of the room starts new
	 * encoders and decoders at once; the upper layers' encoding is what starved them (their
	 * frames stopped for 1.5 s and more, the SFU dropped the layer, viewers waited for a keyframe
	 * of another), and the browser's new send estimate paused them for bandwidth anyway.
	 */
	holdLowest(ms: number, producers: () => Iterable<LocalProducer>): void {
		clearTimeout(this.#holdTimer);
		if (ms <= 0) return;
		this.#holdUntil = performance.now() + ms;
		this.#holdTimer = setTimeout(() => {
			this.#holdUntil = 0;
			this.#holdTimer = undefined;
			for (const producer of producers()) this.apply(producer);
		}, ms);
	}

	#holding(): boolean {
		return this.#holdUntil > 0 && performance.now() < this.#holdUntil;
	}

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
		if (source === 'camera' && this.#holding()) return 0;
		const last = this.#lastBySource.get(source);
		return last !== undefined && last >= 0 ? last : undefined;
	}

	/**
	 * Hold a producer to at most `maxSpatialLayer` whatever the SFU asks (null: no cap on the
	 * layers), its lowest layer at `lowFps` meanwhile (null: as produced). Both null: no cap.
	 */
	cap(producer: LocalProducer, maxSpatialLayer: number | null, lowFps: number | null = null): void {
		const current = this.#caps.get(producer.id);
		const layer = maxSpatialLayer ?? Infinity;
		if ((current?.layer ?? Infinity) === layer && (current?.lowFps ?? null) === lowFps) return;
		if (maxSpatialLayer === null && lowFps === null) this.#caps.delete(producer.id);
		else this.#caps.set(producer.id, { layer, lowFps });
		this.apply(producer);
	}

	/** The cap on a producer (null: none). */
	capFor(producerId: string): number | null {
		const layer = this.#caps.get(producerId)?.layer;
		return layer === undefined || layer === Infinity ? null : layer;
	}

	/** What is applied to a producer (undefined: never asked). */
	appliedFor(producerId: string): number | undefined {
		return this.#applied.get(producerId)?.layer;
	}

	/** The SFU's wish lowered by the cap; undefined: nothing asked for yet. */
	#target(producer: LocalProducer): Applied | undefined {
		const wanted = this.#wanted.get(producer.id);
		const cap = this.#caps.get(producer.id);
		// A frame-rate-only cap asks for no layer by itself: the SFU has not said what it wants yet.
		if (wanted === undefined && (cap === undefined || cap.layer === Infinity)) return undefined;
		const simulcast = (producer.rtpParameters.encodings ?? []).length > 1;
		const layer = Math.min(wanted ?? Infinity, cap?.layer ?? Infinity, simulcast && producer.appData.source === 'camera' && this.#holding() ? 0 : Infinity);
		// The cap's frame rate while capped; once a frame rate was set, the default one after.
		const lowFps = !simulcast ? null : (cap?.lowFps ?? (this.#applied.get(producer.id)?.lowFps != null ? tuning().lowLayerFps : null));
		return { layer: layer === Infinity ? (producer.rtpParameters.encodings ?? []).length - 1 : layer, lowFps };
	}

	apply(producer: LocalProducer): void {
		if (this.#tasks.has(producer.id)) return;
		const task = (async () => {
			for (;;) {
				const target = this.#target(producer);
				const applied = this.#applied.get(producer.id);
				if (target === undefined || producer.closed || (target.layer === applied?.layer && target.lowFps === (applied?.lowFps ?? null))) break;
				const wanted = target.layer;
				const start = performance.now();
				try {
					const encodings = producer.rtpParameters.encodings ?? [];
					if (encodings.length > 1) {
						// Straight on the sender first (quick: what a new viewer waits for), then through
						// mediasoup-client, which renegotiates to mark the paused layers in the SDP (else a
						// later renegotiation would turn them back on).
						await setEncodingsActive(producer, (i) => i <= wanted, target.lowFps);
						measure(`dynacast-sender-${producer.appData.source}-${wanted}`, start);
						// Asked for more meanwhile (a viewer came as the last one went): straight to it, the
						// renegotiation is for the new target (waiting for this one's held a newcomer's first
						// frame up 150-250 ms in e2e/join-timing.spec.ts).
						const next = this.#target(producer);
						if (next !== undefined && next.layer > wanted) {
							this.#applied.set(producer.id, { layer: wanted, lowFps: target.lowFps });
							continue;
						}
						if (wanted !== applied?.layer) await producer.setMaxSpatialLayer(wanted);
					} else {
						await setEncodingsActive(producer, () => wanted >= 0, null);
					}
				} catch (error) {
					if (!producer.closed) console.warn('[parley] dynacast change failed', error);
					break;
				}
				this.#applied.set(producer.id, target);
				// What the SFU wants (not the uplink guard's cap nor a hold: a producer published again starts uncapped).
				const sfuWanted = this.#wanted.get(producer.id);
				if (encodingsOf(producer) > 1 && sfuWanted !== undefined && !this.#holding()) this.#lastBySource.set(producer.appData.source, sfuWanted);
				measure(`dynacast-${producer.appData.source}-${wanted}`, start);
			}
		})().finally(() => this.#tasks.delete(producer.id));
		this.#tasks.set(producer.id, task);
	}

	reset(): void {
		clearTimeout(this.#holdTimer);
		this.#holdTimer = undefined;
		this.#holdUntil = 0;
		this.#wanted.clear();
		this.#applied.clear();
		this.#caps.clear();
		this.#tasks.clear();
	}
}

const encodingsOf = (producer: LocalProducer): number => producer.rtpParameters.encodings?.length ?? 0;

/** Turn encodings on or off straight on the RTCRtpSender (no SDP renegotiation). */
async function setEncodingsActive(producer: LocalProducer, active: (index: number) => boolean, lowFps: number | null): Promise<void> {
	const sender = producer.rtpSender;
	if (!sender) return;
	const parameters = sender.getParameters();
	const low = parameters.encodings[0];
	const fpsOk = lowFps === null || !low || low.maxFramerate === lowFps;
	if (fpsOk && parameters.encodings.every((e, i) => e.active === active(i))) return;
	parameters.encodings.forEach((encoding, i) => {
		encoding.active = active(i);
	});
	if (low && lowFps !== null) low.maxFramerate = lowFps;
	await sender.setParameters(parameters);
}
