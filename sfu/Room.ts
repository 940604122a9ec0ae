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
import type { QualityReport } from './types.ts';
import { Dynacast } from './layers/Dynacast.ts';
import { measurePeer } from './quality/connectionQuality.ts';
import { InvalidStateError, NotFoundError } from './errors.ts';
import { Peer, type Producer } from './Peer.ts';
import { logUnlessClosed } from './log.ts';
import { routerCodecs } from './codecs.ts';
import type { PooledWorker } from './WorkerPool.ts';
import type { PeerLimits } from './limits.ts';

export interface RoomOptions {
	emptyTimeoutMs: number;
	videoCodec: 'vp8' | 'vp9';
	/** How often connection quality is measured (ms); 0 turns it off. */
	qualityIntervalMs: number;
	/** Dynacast waits this long before telling a publisher to drop layers (ms). */
	dynacastLowerDelayMs: number;
	maxPeers: number;
	initialOutgoingBitrate: number;
	/** Floor under the send estimate of each receive transport (bps; 0: none). */
	minOutgoingBitrate: number;
	/** x-google-min-bitrate of the router's video codecs (kbps; 0: none). */
	videoMinBitrateKbps: number;
	logger: Logger;
	/** What each participant may create (default: DEFAULT_PEER_LIMITS). */
	peerLimits?: PeerLimits;
}

export type RoomEvents = {
	close: [reason: 'empty' | 'worker-died' | 'closed'];
	peerjoined: [peer: Peer];
	peerleft: [peer: Peer];
	newproducer: [producer: Producer];
	producerclose: [producer: Producer];
	producerpause: [producer: Producer];
	producerresume: [producer: Producer];
	/** Dynacast: the producer's peer should encode up to this spatial layer (-1: none). */
	producerlayers: [producer: Producer, maxSpatialLayer: number];
	activespeaker: [peerId: string];
	quality: [peers: QualityReport[]];
};

export class Room extends EventEmitter<RoomEvents> {
	readonly id: string;
	readonly log: Logger;
	readonly #router: types.Router;
	readonly #worker: PooledWorker;
	readonly #options: RoomOptions;
	readonly #peers = new Map<string, Peer>();
	readonly #dynacast: Dynacast;
	readonly #speakerObserver: types.ActiveSpeakerObserver;
	#activeSpeaker: string | null = null;
	#emptyTimer: NodeJS.Timeout | undefined;
	#qualityTimer: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(
		id: string,
		router: types.Router,
		worker: PooledWorker,
		speakerObserver: types.ActiveSpeakerObserver,
		options: RoomOptions,
	) {
		super();
		this.id = id;
		this.#router = router;
		this.#worker = worker;
		this.#options = options;
		this.log = options.logger.child({ roomId: id });
		this.#dynacast = new Dynacast({
			lowerDelayMs: options.dynacastLowerDelayMs,
			peers: () => this.#peers.values(),
			publish: (producer, layer) => {
				this.log.debug({ producerId: producer.id, maxSpatialLayer: layer }, 'dynacast');
				this.emit('producerlayers', producer, layer);
			},
		});
		this.#speakerObserver = speakerObserver;
		speakerObserver.on('dominantspeaker', ({ producer }) => this.#setActiveSpeaker(producer.appData.peerId as string));
		if (options.qualityIntervalMs > 0) {
			this.#qualityTimer = setInterval(() => void this.#measureQuality(), options.qualityIntervalMs);
			this.#qualityTimer.unref();
		}
		router.observer.once('close', () => this.#close(worker.worker.closed ? 'worker-died' : 'closed'));
		this.#scheduleEmptyClose();
	}

	static async create(id: string, worker: PooledWorker, options: RoomOptions): Promise<Room> {
		const router = await worker.worker.createRouter({ mediaCodecs: routerCodecs(options), appData: { roomId: id } });
		const speakerObserver = await router.createActiveSpeakerObserver({ interval: 300 });
		const room = new Room(id, router, worker, speakerObserver, options);
		room.log.info({ worker: worker.index, routerId: router.id }, 'room opened');
		return room;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get workerIndex(): number {
		return this.#worker.index;
	}

	get videoCodec(): 'vp8' | 'vp9' {
		return this.#options.videoCodec;
	}

	get activeSpeaker(): string | null {
		return this.#activeSpeaker;
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
			minOutgoingBitrate: this.#options.minOutgoingBitrate,
			logger: this.log,
			...(this.#options.peerLimits ? { limits: this.#options.peerLimits } : {}),
		});
		this.#peers.set(id, peer);
		peer.on('newproducer', (p) => {
			if (p.kind === 'audio') {
				void this.#speakerObserver
					.addProducer({ producerId: p.id })
					.catch((err: unknown) => logUnlessClosed(peer.log, p, err, 'active speaker observer did not take the producer'));
			}
			else this.#dynacast.update(p);
			this.emit('newproducer', p);
		});
		peer.on('producerclose', (p) => this.emit('producerclose', p));
		peer.on('demandchange', (producerId) => {
			const producer = this.#findProducer(producerId);
			if (producer) this.#dynacast.update(producer);
		});
		peer.on('producerpause', (p) => this.emit('producerpause', p));
		peer.on('producerresume', (p) => this.emit('producerresume', p));
		peer.once('close', () => {
			if (this.#peers.get(id) === peer) this.#peers.delete(id);
			if (this.#activeSpeaker === id) this.#activeSpeaker = null;
			// Its consumers are gone: what the others publish may be needed less now.
			for (const other of this.#peers.values()) for (const p of other.producers.values()) this.#dynacast.update(p);
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
		const producer = this.#findProducer(producerId);
		if (!producer) throw new NotFoundError(`no producer ${producerId} in this room`);
		return producer;
	}

	/** What dynacast last asked a producer's publisher to encode (spatial layer, -1: none). */
	dynacastLayer(producerId: string): number | undefined {
		return this.#dynacast.sentFor(producerId);
	}

	#findProducer(producerId: string): Producer | undefined {
		for (const peer of this.#peers.values()) {
			const producer = peer.producers.get(producerId);
			if (producer) return producer;
		}
		return undefined;
	}

	/** The dominant speaker's video gets bandwidth before other videos. */
	#setActiveSpeaker(peerId: string): void {
		if (this.#closed || peerId === this.#activeSpeaker) return;
		const previous = this.#activeSpeaker;
		this.#activeSpeaker = peerId;
		for (const peer of this.#peers.values()) {
			for (const consumer of peer.consumers.values()) {
				if (consumer.kind !== 'video' || consumer.appData.source !== 'camera') continue;
				const from = consumer.appData.producerPeerId;
				const priority = from === peerId ? 2 : from === previous ? 1 : 0;
				if (priority) {
					void consumer.setPriority(priority).catch((err: unknown) => logUnlessClosed(peer.log, consumer, err, 'consumer priority not set'));
				}
			}
		}
		this.emit('activespeaker', peerId);
	}

	async #measureQuality(): Promise<void> {
		if (this.#closed || this.#peers.size === 0) return;
		const measured = [...this.#peers.values()].map((p) =>
			measurePeer(p, (id) => this.#dynacast.sentFor(id)).catch((err: unknown) => {
				if (!p.closed) p.log.warn({ err }, 'connection quality not measured');
				return undefined;
			}),
		);
		const peers = await Promise.all(measured);
		if (!this.#closed) this.emit('quality', peers.filter((q): q is QualityReport => q !== undefined));
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
		clearInterval(this.#qualityTimer);
		this.#dynacast.close();
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
