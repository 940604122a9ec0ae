/**
 * One meeting: its peers and the router that forwards their media. A room lives on one
 * worker's router for now; `routerFor()` is the single place to change when a room
 * spans several routers (pipeToRouter) later.
 *
 * close() is idempotent and cascades to every peer; a room that stays empty for
 * `emptyTimeoutMs` closes itself, and so does a room whose worker died.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { PeerInfo } from '../signaling/protocol/index.ts';
import { InvalidStateError, NotFoundError } from './errors.ts';
import { Peer, type Producer } from './Peer.ts';
import { mediaCodecs } from './codecs.ts';
import type { PooledWorker } from './WorkerPool.ts';

export interface RoomOptions {
	emptyTimeoutMs: number;
	maxPeers: number;
	initialOutgoingBitrate: number;
	logger: Logger;
}

export type RoomEvents = {
	close: [reason: 'empty' | 'worker-died' | 'closed'];
	peerjoined: [peer: Peer];
	peerleft: [peer: Peer];
	newproducer: [producer: Producer];
	producerclose: [producer: Producer];
	producerpause: [producer: Producer];
	producerresume: [producer: Producer];
};

export class Room extends EventEmitter<RoomEvents> {
	readonly id: string;
	readonly log: Logger;
	readonly #router: types.Router;
	readonly #worker: PooledWorker;
	readonly #options: RoomOptions;
	readonly #peers = new Map<string, Peer>();
	#emptyTimer: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(id: string, router: types.Router, worker: PooledWorker, options: RoomOptions) {
		super();
		this.id = id;
		this.#router = router;
		this.#worker = worker;
		this.#options = options;
		this.log = options.logger.child({ roomId: id });
		router.observer.once('close', () => this.#close(worker.worker.closed ? 'worker-died' : 'closed'));
		this.#scheduleEmptyClose();
	}

	static async create(id: string, worker: PooledWorker, options: RoomOptions): Promise<Room> {
		const router = await worker.worker.createRouter({ mediaCodecs, appData: { roomId: id } });
		const room = new Room(id, router, worker, options);
		room.log.info({ worker: worker.index, routerId: router.id }, 'room opened');
		return room;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get workerIndex(): number {
		return this.#worker.index;
	}

	get rtpCapabilities(): types.RtpCapabilities {
		return this.#router.rtpCapabilities;
	}

	get peers(): ReadonlyMap<string, Peer> {
		return this.#peers;
	}

	/**
	 * Add a peer. A peer with the same id (the same identity joining again) replaces the
	 * old one, which is closed first.
	 */
	join(id: string, name: string, rtpCapabilities: types.RtpCapabilities): Peer {
		this.#assertOpen();
		this.#peers.get(id)?.close();
		if (this.#peers.size >= this.#options.maxPeers) throw new InvalidStateError(`room ${this.id} is full`);
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = undefined;
		const { router, webRtcServer } = this.routerFor();
		const peer = new Peer(id, name, rtpCapabilities, {
			router,
			webRtcServer,
			initialOutgoingBitrate: this.#options.initialOutgoingBitrate,
			logger: this.log,
		});
		this.#peers.set(id, peer);
		peer.on('newproducer', (p) => this.emit('newproducer', p));
		peer.on('producerclose', (p) => this.emit('producerclose', p));
		peer.on('producerpause', (p) => this.emit('producerpause', p));
		peer.on('producerresume', (p) => this.emit('producerresume', p));
		peer.once('close', () => {
			if (this.#peers.get(id) === peer) this.#peers.delete(id);
			peer.log.info('peer left');
			this.emit('peerleft', peer);
			if (this.#peers.size === 0) this.#scheduleEmptyClose();
		});
		peer.log.info({ name, peers: this.#peers.size }, 'peer joined');
		this.emit('peerjoined', peer);
		return peer;
	}

	peer(id: string): Peer {
		this.#assertOpen();
		const peer = this.#peers.get(id);
		if (!peer) throw new NotFoundError(`no peer ${id} in room ${this.id}`);
		return peer;
	}

	/** Find a producer of any peer in this room (never another room's). */
	producer(producerId: string): Producer {
		this.#assertOpen();
		for (const peer of this.#peers.values()) {
			const producer = peer.producers.get(producerId);
			if (producer) return producer;
		}
		throw new NotFoundError(`no producer ${producerId} in this room`);
	}

	peerInfos(): PeerInfo[] {
		return [...this.#peers.values()].map(peerInfo);
	}

	/** The router (and its worker's WebRtcServer) that serves a peer. One router per room for now. */
	routerFor(): { router: types.Router; webRtcServer: types.WebRtcServer } {
		return { router: this.#router, webRtcServer: this.#worker.webRtcServer };
	}

	close(): void {
		this.#close('closed');
	}

	#close(reason: 'empty' | 'worker-died' | 'closed'): void {
		if (this.#closed) return;
		this.#closed = true;
		clearTimeout(this.#emptyTimer);
		for (const peer of [...this.#peers.values()]) peer.close();
		this.#peers.clear();
		this.#router.close();
		this.log.info({ reason }, 'room closed');
		this.emit('close', reason);
		this.removeAllListeners();
	}

	#scheduleEmptyClose(): void {
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = setTimeout(() => {
			if (this.#peers.size === 0) this.#close('empty');
		}, this.#options.emptyTimeoutMs);
		this.#emptyTimer.unref();
	}

	#assertOpen(): void {
		if (this.#closed) throw new InvalidStateError(`room ${this.id} closed`);
	}
}

export function peerInfo(peer: Peer): PeerInfo {
	return { id: peer.id, name: peer.name, joinedAt: peer.joinedAt, producers: peer.producerInfos() };
}
