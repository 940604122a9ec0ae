/**
 * A room's links to other nodes' copies of it (cascading, sfu/cascade): the producers of
 * other nodes produced here over a link, and the local producers sent over links.
 *
 * - A producer of another node is produced on the room's main router, consumed as any
 *   other, never announced as a local one (its node does that), and heard by the active
 *   speaker observer. Nobody here consuming it for `idleMs` is told (`unused`).
 * - A local producer sent over a link is made available on the main router (where the
 *   link is) and kept at its top layer: the other node's people choose theirs there.
 *
 * close() is idempotent: it closes the other nodes' producers and forgets the links.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { NotFoundError } from './errors.ts';
import type { Producer } from './Peer.ts';
import { logUnlessClosed } from './log.ts';
import type { RoomRouters } from './RoomRouters.ts';

/** What the links need of their room. */
export interface LinkedRoom {
	readonly id: string;
	readonly log: Logger;
	readonly routers: RoomRouters;
	/** A local peer's producer (never another node's). */
	findLocal(producerId: string): Producer | undefined;
	/** The worker a local peer's media is on. */
	workerOf(peerId: string): number | undefined;
	/** Whether one of the room's peers consumes the producer. */
	consumed(producerId: string): boolean;
	/** Keep a local video producer at its top layer; returns the release function. */
	holdTopLayer(producer: Producer): () => void;
	/** What links changed made a pipe between the room's routers unneeded: close it. */
	sweep(producerId: string): void;
}

export type RoomLinksEvents = {
	/** Nobody here has consumed a producer brought from another node for `idleMs`. */
	unused: [producerId: string];
};

export class RoomLinks extends EventEmitter<RoomLinksEvents> {
	readonly #room: LinkedRoom;
	readonly #idleMs: number;
	/** Producers of other nodes' copies, produced here over a link, and the worker they are on. */
	readonly #remote = new Map<string, { producer: Producer; workerIndex: number }>();
	/** Local producers sent over links to other nodes (count of sends). */
	readonly #linked = new Map<string, number>();
	#closed = false;

	constructor(room: LinkedRoom, idleMs: number) {
		super();
		this.#room = room;
		this.#idleMs = idleMs;
	}

	/** Producers of other nodes produced here. */
	get remoteCount(): number {
		return this.#remote.size;
	}

	remote(producerId: string): Producer | undefined {
		return this.#remote.get(producerId)?.producer;
	}

	remoteIds(): IterableIterator<string> {
		return this.#remote.keys();
	}

	/** The worker a producer of another node is on (undefined for a local one). */
	remoteWorkerOf(producer: Producer): number | undefined {
		const remote = this.#remote.get(producer.id);
		return remote?.producer === producer ? remote.workerIndex : undefined;
	}

	/** Whether a local producer is sent over a link (so the main router needs it). */
	isLinked(producerId: string): boolean {
		return this.#linked.has(producerId);
	}

	/** The peers whose producers came here over the link with `node`. */
	peersVia(node: string): string[] {
		const ids = new Set<string>();
		for (const { producer } of this.#remote.values()) if ((producer.appData as Record<string, unknown>).remoteNode === node) ids.add(producer.appData.peerId);
		return [...ids];
	}

	/** A producer of another node's copy, produced on the main router over a link. It goes when it closes. */
	addRemote(producer: Producer): void {
		const main = this.#room.routers.main;
		if (this.#remote.get(producer.id)?.producer === producer) return;
		if (!main) throw new NotFoundError(`room ${this.#room.id} has no router right now`);
		this.#remote.set(producer.id, { producer, workerIndex: main.worker.index });
		producer.observer.once('close', () => {
			if (this.#remote.get(producer.id)?.producer === producer) this.#remote.delete(producer.id);
		});
		if (producer.kind === 'audio') {
			void this.#room.routers
				.observe(producer, main)
				.catch((err: unknown) => logUnlessClosed(this.#room.log, producer, err, 'active speaker observer did not take the remote producer'));
		}
	}

	/**
	 * Send a producer (local, or another node's: copy to copy through the host) over a link:
	 * it is piped to the main router and a local one is kept at its top layer. Returns the
	 * release function (idempotent).
	 */
	async link(producer: Producer): Promise<() => void> {
		const main = this.#room.routers.main;
		if (!main) throw new NotFoundError(`room ${this.#room.id} has no router right now`);
		const producerId = producer.id;
		const fromIndex = this.#remote.get(producerId)?.workerIndex ?? this.#room.workerOf(producer.appData.peerId) ?? -1;
		const from = this.#room.routers.entry(fromIndex);
		if (!from) throw new NotFoundError(`producer ${producerId} is not available right now (its media is moving)`);
		this.#linked.set(producerId, (this.#linked.get(producerId) ?? 0) + 1);
		const lease = await this.#room.routers.lease(producer, from, main).catch((error: unknown) => {
			this.#unlink(producerId);
			throw error;
		});
		lease();
		const local = this.#room.findLocal(producerId);
		const releaseTop = local ? this.#room.holdTopLayer(local) : () => undefined;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			releaseTop();
			this.#unlink(producerId);
		};
	}

	/** After `idleMs`, say so if nobody here consumes a producer of another node any more. */
	checkUse(producerId: string): void {
		if (!this.#remote.has(producerId)) return;
		const timer = setTimeout(() => {
			if (this.#closed || !this.#remote.has(producerId)) return;
			if (!this.#room.consumed(producerId)) this.emit('unused', producerId);
		}, this.#idleMs);
		timer.unref();
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const { producer } of this.#remote.values()) producer.close();
		this.#remote.clear();
		this.#linked.clear();
		this.removeAllListeners();
	}

	#unlink(producerId: string): void {
		const left = (this.#linked.get(producerId) ?? 1) - 1;
		if (left > 0) this.#linked.set(producerId, left);
		else this.#linked.delete(producerId);
		if (!this.#closed) this.#room.sweep(producerId);
	}
}
