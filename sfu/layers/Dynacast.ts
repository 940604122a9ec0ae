/**
 * Dynacast: publishers encode only the layers someone watches. For each video producer,
 * the highest spatial layer any subscriber shows it at (-1: nobody shows it) is sent to
 * the publisher, which turns the other encodings off. Raising happens at once (a viewer
 * is waiting); lowering waits `lowerDelayMs`, so layout changes do not make encoders flap.
 */
import type { Peer, Producer } from '../Peer.ts';
import { layoutOf } from './chooseLayers.ts';

export interface DynacastOptions {
	lowerDelayMs: number;
	peers: () => Iterable<Peer>;
	/** Demand that is not a peer's (a recording wants the top layer, a newcomer in the lobby the first one shown); -1: none. */
	extraDemand?: (producer: Producer) => number;
	/** Tell the producer's peer to encode up to this spatial layer. */
	publish: (producer: Producer, maxSpatialLayer: number) => void;
}

interface Entry {
	sent: number;
	timer: NodeJS.Timeout | undefined;
}

export class Dynacast {
	readonly #options: DynacastOptions;
	readonly #entries = new Map<string, Entry>();

	constructor(options: DynacastOptions) {
		this.#options = options;
	}

	/** Recompute what a producer's subscribers need (after any change in their demand). */
	update(producer: Producer): void {
		if (producer.closed || producer.kind !== 'video') return;
		const top = layoutOf(producer.rtpParameters.encodings ?? []).heights.length - 1;
		let demand = this.#options.extraDemand?.(producer) ?? -1;
		for (const peer of this.#options.peers()) {
			if (peer.id === producer.appData.peerId) continue;
			demand = Math.max(demand, peer.demandFor(producer.id) ?? -1);
		}
		const wanted = Math.min(demand, top);
		let entry = this.#entries.get(producer.id);
		if (!entry) {
			// A new producer encodes every layer, or those it said it starts with (a camera published
			// again after a move): start from there (lowering then waits as usual, raising does not).
			entry = { sent: Math.min(top, producer.appData.startLayer ?? top), timer: undefined };
			this.#entries.set(producer.id, entry);
			producer.observer.once('close', () => {
				clearTimeout(this.#entries.get(producer.id)?.timer);
				this.#entries.delete(producer.id);
			});
		}
		const e = entry;
		if (e.sent === wanted) {
			clearTimeout(e.timer);
			e.timer = undefined;
			return;
		}
		const send = (): void => {
			e.timer = undefined;
			if (producer.closed) return;
			e.sent = wanted;
			this.#options.publish(producer, wanted);
		};
		clearTimeout(e.timer);
		if (wanted > e.sent) send();
		else {
			e.timer = setTimeout(send, this.#options.lowerDelayMs);
			e.timer.unref();
		}
	}

	/** What was last sent for a producer (for tests and stats). */
	sentFor(producerId: string): number | undefined {
		return this.#entries.get(producerId)?.sent;
	}

	close(): void {
		for (const e of this.#entries.values()) clearTimeout(e.timer);
		this.#entries.clear();
	}
}
