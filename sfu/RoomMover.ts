/**
 * Moves a room's peers off a router lost with its worker (death, or an operator closing
 * it) to live workers the placement policy picks (`peermoved`: their clients reconnect
 * their media). Finding no live worker at all is `failed`: the room must close.
 *
 * close() is idempotent: a move in progress stops, and nothing is told after it.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Peer } from './Peer.ts';
import type { Placer } from './Room.ts';
import type { RoomRouters, RouterEntry } from './RoomRouters.ts';

export type RoomMoverEvents = {
	/** A peer's media was moved to another worker (from → to): its client must reconnect its media. */
	peermoved: [peer: Peer, from: number, to: number];
	/** No live worker to move a peer to (already logged). */
	failed: [];
};

export class RoomMover extends EventEmitter<RoomMoverEvents> {
	readonly #routers: RoomRouters;
	readonly #peers: ReadonlyMap<string, Peer>;
	readonly #place: Placer;
	readonly #log: Logger;
	#closed = false;

	constructor(routers: RoomRouters, peers: ReadonlyMap<string, Peer>, place: Placer, log: Logger) {
		super();
		this.#routers = routers;
		this.#peers = peers;
		this.#place = place;
		this.#log = log;
		routers.on('routerlost', (index) => void this.#moveOff(index));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.removeAllListeners();
	}

	/** Move every peer off a lost router to live workers; their clients reconnect their media. */
	async #moveOff(index: number): Promise<void> {
		const moving = [...this.#peers.values()].filter((p) => p.workerIndex === index);
		if (moving.length === 0) return;
		this.#log.warn({ worker: index, peers: moving.length }, 'worker lost: moving its peers');
		for (const peer of moving) {
			if (peer.closed || this.#closed) continue;
			try {
				const entry = await this.#routers.routerOn(await this.#place(this.#routers.workers, index));
				if (peer.closed || this.#closed || peer.workerIndex !== index) continue;
				peer.relocate(placementOf(entry));
				this.emit('peermoved', peer, index, entry.worker.index);
			} catch (err) {
				if (this.#closed) return;
				this.#log.error({ err, peerId: peer.id }, 'no live worker to move the peer to: closing the room');
				this.emit('failed');
				return;
			}
		}
	}
}

/** Where a peer's media lives on a router of the room. */
export function placementOf(entry: RouterEntry): { router: types.Router; webRtcServer: types.WebRtcServer; workerIndex: number } {
	return { router: entry.router, webRtcServer: entry.worker.webRtcServer, workerIndex: entry.worker.index };
}
