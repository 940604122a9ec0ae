/**
 * What a room's producers are needed for, where and how large:
 *
 * - Where: a consume leases its producer on the consumer's worker (RoomRouters pipes it
 *   there if needed); a pipe is swept once nobody needs it there any more (nobody on that
 *   worker consumes it, the speaker observer need not hear it, no link sends it).
 * - How large: dynacast tells each video producer's publisher the layers its subscribers
 *   show (`layers`), and a recording (or a link) may hold one at its top layer. While
 *   someone waits in the lobby with a prepared receive connection, every video producer
 *   encodes at least the layer a new consumer starts with (a publisher alone in the room,
 *   whose encoder dynacast stopped, starts it again before the newcomer clicks Join).
 *
 * close() is idempotent: it stops dynacast's timers, and releasing a top-layer hold after it
 * no longer updates dynacast. Listeners stay: the room removes its own when it closes.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Dynacast } from './layers/Dynacast.ts';
import { NotFoundError } from './errors.ts';
import { ConsumerViews, viewedOf } from './layers/ConsumerViews.ts';
import type { Peer, Producer } from './Peer.ts';
import type { RoomLinks } from './RoomLinks.ts';
import type { RoomRouters } from './RoomRouters.ts';

/** What the demand needs of its room. */
export interface DemandingRoom {
	readonly log: Logger;
	readonly routers: RoomRouters;
	readonly peers: ReadonlyMap<string, Peer>;
	readonly links: Pick<RoomLinks, 'remoteWorkerOf' | 'isLinked'>;
	/** Dynacast waits this long before telling a publisher to drop layers (ms). */
	readonly lowerDelayMs: number;
	/** A producer of a local peer, or one of another node's brought here. */
	findProducer(producerId: string): Producer | undefined;
}

export type ProducerDemandEvents = {
	/** Dynacast: the producer's peer should encode up to this spatial layer (-1: none). */
	layers: [producer: Producer, maxSpatialLayer: number];
};

export class ProducerDemand extends EventEmitter<ProducerDemandEvents> {
	readonly #room: DemandingRoom;
	readonly #dynacast: Dynacast;
	/** Producers a recording holds at their top layer (count of holds). */
	readonly #topLayerHolds = new Map<string, number>();
	/** Prepared receive connections of people in the lobby, waiting for their join. */
	#newcomers = 0;
	#closed = false;

	constructor(room: DemandingRoom) {
		super();
		this.#room = room;
		this.#dynacast = new Dynacast({
			lowerDelayMs: room.lowerDelayMs,
			peers: () => room.peers.values(),
			extraDemand: (producer) => {
				if (this.#topLayerHolds.has(producer.id)) return Number.MAX_SAFE_INTEGER;
				if (this.#newcomers === 0) return -1;
				return ConsumerViews.initialLayers(viewedOf(producer))?.spatialLayer ?? -1;
			},
			publish: (producer, layer) => {
				room.log.debug({ producerId: producer.id, maxSpatialLayer: layer }, 'dynacast');
				this.emit('layers', producer, layer);
			},
		});
	}

	/** Recompute the layers a video producer's subscribers need (dynacast). */
	update(producer: Producer): void {
		this.#dynacast.update(producer);
	}

	/** What dynacast last asked a producer's publisher to encode (spatial layer, -1: none). */
	sentFor(producerId: string): number | undefined {
		return this.#dynacast.sentFor(producerId);
	}

	/** Make a producer consumable on a worker's router of this room (piping it there if needed). */
	async lease(producer: Producer, workerIndex: number): Promise<() => void> {
		const routers = this.#room.routers;
		const from = routers.entry(this.#room.links.remoteWorkerOf(producer) ?? this.#room.peers.get(producer.appData.peerId)?.workerIndex ?? -1);
		const to = routers.entry(workerIndex);
		if (!from || !to) throw new NotFoundError(`producer ${producer.id} is not available right now (its media is moving)`);
		return routers.lease(producer, from, to);
	}

	/** Close the pipes of a producer (or of all producers) that nobody needs any more. */
	sweep(producerId?: string): void {
		this.#room.routers.sweep(this.#needed, producerId);
	}

	/**
	 * Keep a video producer encoding its top layer (a recording takes the best layer even when
	 * nobody watches it that large). Returns the release function (idempotent).
	 */
	holdTopLayer(producer: Producer): () => void {
		this.#topLayerHolds.set(producer.id, (this.#topLayerHolds.get(producer.id) ?? 0) + 1);
		this.#dynacast.update(producer);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const left = (this.#topLayerHolds.get(producer.id) ?? 1) - 1;
			if (left > 0) this.#topLayerHolds.set(producer.id, left);
			else this.#topLayerHolds.delete(producer.id);
			if (!this.#closed) this.#dynacast.update(producer);
		};
	}

	/**
	 * Someone is about to join (a receive connection prepared in the lobby): every video
	 * producer encodes at least the layer a new consumer starts with, until the release
	 * (idempotent; lowering then waits as usual, so the join's consumers take over smoothly).
	 */
	holdForNewcomer(): () => void {
		this.#newcomers++;
		this.#updateAll();
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.#newcomers--;
			if (!this.#closed) this.#updateAll();
		};
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#dynacast.close();
	}

	#updateAll(): void {
		for (const peer of this.#room.peers.values()) for (const producer of peer.producers.values()) this.#dynacast.update(producer);
	}

	/** Whether someone on a worker consumes a producer, or the speaker observer there must hear it. */
	readonly #needed = (producerId: string, workerIndex: number): boolean => {
		if (this.#room.routers.main?.worker.index === workerIndex) {
			if (this.#room.links.isLinked(producerId)) return true;
			const producer = this.#room.findProducer(producerId);
			if (producer?.kind === 'audio') return true;
		}
		for (const peer of this.#room.peers.values()) {
			if (peer.workerIndex !== workerIndex) continue;
			for (const consumer of peer.consumers.values()) if (consumer.producerId === producerId) return true;
		}
		return false;
	};
}
