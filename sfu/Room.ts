/**
 * One meeting: its peers and the routers that forward their media, one per worker the
 * room uses (RoomRouters: pipes between them on demand, the active speaker observer on
 * the main router). Where each peer goes is up to the placement policy (Sfu).
 *
 * A router lost with its worker (death, or an operator closing it) does not end the
 * meeting: its peers are moved to a live worker (`peermoved`: their clients reconnect
 * their media), and the others see those peers' producers close and come back.
 *
 * close() is idempotent and cascades to every peer; a room that stays empty for
 * `emptyTimeoutMs` closes itself, and so does one that finds no live worker at all.
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
import type { PooledWorker } from './WorkerPool.ts';
import type { PeerLimits } from './limits.ts';
import { routerCodecs } from './codecs.ts';
import { RoomRouters, type RouterEntry } from './RoomRouters.ts';
import { RoomLinks } from './RoomLinks.ts';

/** Picks the worker for a peer among the live ones (waiting for one when none is). */
export type Placer = (roomWorkers: readonly number[], avoid?: number) => Promise<PooledWorker>;

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
	/** How long a pipe nobody needs stays open (ms). */
	pipeIdleMs?: number;
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
	/** A peer's media was moved to another worker (from → to): its client must reconnect its media. */
	peermoved: [peer: Peer, from: number, to: number];
	/** Nobody here has consumed a producer brought from another node for `pipeIdleMs`. */
	remoteunused: [producerId: string];
};

export class Room extends EventEmitter<RoomEvents> {
	readonly id: string;
	readonly log: Logger;
	readonly #routers: RoomRouters;
	readonly #rtpCapabilities: types.RtpCapabilities;
	readonly #place: Placer;
	readonly #options: RoomOptions;
	readonly #peers = new Map<string, Peer>();
	readonly #dynacast: Dynacast;
	/** Producers a recording holds at their top layer (count of holds). */
	readonly #topLayerHolds = new Map<string, number>();
	/** Links to other nodes' copies of this room (cascading). */
	readonly #links: RoomLinks;
	/** Things outside the peers that keep the room open (links to other nodes). */
	#holds = 0;
	#activeSpeaker: string | null = null;
	#emptyTimer: NodeJS.Timeout | undefined;
	#qualityTimer: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(id: string, routers: RoomRouters, rtpCapabilities: types.RtpCapabilities, place: Placer, options: RoomOptions) {
		super();
		this.id = id;
		this.#routers = routers;
		this.#rtpCapabilities = rtpCapabilities;
		this.#place = place;
		this.#options = options;
		this.log = options.logger.child({ roomId: id });
		this.#dynacast = new Dynacast({
			lowerDelayMs: options.dynacastLowerDelayMs,
			peers: () => this.#peers.values(),
			extraDemand: (producerId) => (this.#topLayerHolds.has(producerId) ? Number.MAX_SAFE_INTEGER : -1),
			publish: (producer, layer) => {
				this.log.debug({ producerId: producer.id, maxSpatialLayer: layer }, 'dynacast');
				this.emit('producerlayers', producer, layer);
			},
		});
		this.#links = new RoomLinks(
			{
				id,
				log: this.log,
				routers,
				findLocal: (producerId) => this.#findLocal(producerId),
				workerOf: (peerId) => this.#peers.get(peerId)?.workerIndex,
				consumed: (producerId) => [...this.#peers.values()].some((peer) => [...peer.consumers.values()].some((c) => c.producerId === producerId)),
				holdTopLayer: (producer) => this.holdTopLayer(producer),
				sweep: (producerId) => this.#routers.sweep(this.#needed, producerId),
			},
			options.pipeIdleMs ?? 1000,
		);
		this.#links.on('unused', (producerId) => this.emit('remoteunused', producerId));
		routers.on('dominantspeaker', (producer) => this.#setActiveSpeaker(producer.appData.peerId as string));
		routers.on('routerlost', (index) => void this.#moveOff(index));
		routers.on('mainchanged', () => {
			for (const peer of this.#peers.values()) for (const p of peer.producers.values()) if (p.kind === 'audio') this.#observe(peer, p);
		});
		if (options.qualityIntervalMs > 0) {
			this.#qualityTimer = setInterval(() => void this.#measureQuality(), options.qualityIntervalMs);
			this.#qualityTimer.unref();
		}
		this.#scheduleEmptyClose();
	}

	static async create(id: string, place: Placer, options: RoomOptions): Promise<Room> {
		const logger = options.logger.child({ roomId: id });
		const routers = new RoomRouters({ roomId: id, logger, codecs: routerCodecs(options), pipeIdleMs: options.pipeIdleMs });
		const worker = await place([]);
		const main = await routers.routerOn(worker);
		const room = new Room(id, routers, main.router.rtpCapabilities, place, options);
		room.log.info({ worker: worker.index, routerId: main.router.id }, 'room opened');
		return room;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Workers the room has routers on (pool indexes). */
	get workers(): number[] {
		return this.#routers.workers;
	}

	/** Pipes currently open between the room's routers (producer → worker). */
	get pipes(): number {
		return this.#routers.pipeCount;
	}

	get videoCodec(): 'vp8' | 'vp9' {
		return this.#options.videoCodec;
	}

	get activeSpeaker(): string | null {
		return this.#activeSpeaker;
	}

	/** Every router of a room has the same codecs, so the same capabilities (kept from the first). */
	get rtpCapabilities(): types.RtpCapabilities {
		return this.#rtpCapabilities;
	}

	get peers(): ReadonlyMap<string, Peer> {
		return this.#peers;
	}

	/**
	 * Add a peer, on the worker the placement policy picks. A peer with the same id (the same
	 * identity joining again) replaces the old one, which is closed first.
	 */
	async join(id: string, name: string, rtpCapabilities: types.RtpCapabilities): Promise<Peer> {
		this.#assertOpen();
		this.#peers.get(id)?.close();
		if (this.#peers.size >= this.#options.maxPeers) throw new InvalidStateError(`room ${this.id} is full`);
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = undefined;
		let entry: RouterEntry;
		try {
			entry = await this.#routers.routerOn(await this.#place(this.#routers.workers));
		} catch (error) {
			if (this.#peers.size === 0) this.#scheduleEmptyClose();
			throw error;
		}
		this.#assertOpen();
		this.#peers.get(id)?.close();
		if (this.#peers.size >= this.#options.maxPeers) throw new InvalidStateError(`room ${this.id} is full`);
		const peer = new Peer(id, name, rtpCapabilities, {
			...placementOf(entry),
			initialOutgoingBitrate: this.#options.initialOutgoingBitrate,
			minOutgoingBitrate: this.#options.minOutgoingBitrate,
			logger: this.log,
			...(this.#options.peerLimits ? { limits: this.#options.peerLimits } : {}),
			beforeConsume: (producer, at) => this.#lease(producer, at.workerIndex),
		});
		this.#peers.set(id, peer);
		peer.on('newproducer', (p) => {
			if (p.kind === 'audio') this.#observe(peer, p);
			else this.#dynacast.update(p);
			this.emit('newproducer', p);
		});
		peer.on('producerclose', (p) => this.emit('producerclose', p));
		peer.on('demandchange', (producerId) => {
			const producer = this.#findLocal(producerId);
			if (producer) this.#dynacast.update(producer);
			this.#routers.sweep(this.#needed, producerId);
			this.#links.checkUse(producerId);
		});
		peer.on('producerpause', (p) => this.emit('producerpause', p));
		peer.on('producerresume', (p) => this.emit('producerresume', p));
		peer.once('close', () => {
			if (this.#peers.get(id) === peer) this.#peers.delete(id);
			if (this.#activeSpeaker === id) this.#activeSpeaker = null;
			// Its consumers are gone: what the others publish may be needed less now.
			for (const other of this.#peers.values()) for (const p of other.producers.values()) this.#dynacast.update(p);
			this.#routers.sweep(this.#needed);
			for (const producerId of this.#links.remoteIds()) this.#links.checkUse(producerId);
			peer.log.info('peer left');
			this.emit('peerleft', peer);
			if (this.#peers.size === 0 && this.#holds === 0) this.#scheduleEmptyClose();
		});
		peer.log.info({ name, peers: this.#peers.size, worker: entry.worker.index }, 'peer joined');
		this.emit('peerjoined', peer);
		return peer;
	}

	peer(id: string): Peer {
		this.#assertOpen();
		const peer = this.#peers.get(id);
		if (!peer) throw new NotFoundError(`no peer ${id} in room ${this.id}`);
		return peer;
	}

	/** This node's main router of the room, where links to other nodes' copies of it attach. */
	get mainRouter(): types.Router | undefined {
		return this.#routers.main?.router;
	}

	/** Producers of other nodes produced here over links. */
	get remoteProducers(): number {
		return this.#links.remoteCount;
	}

	/** The peers whose producers came here over the link with `node` (cascading). */
	remotePeersVia(node: string): string[] {
		return this.#links.peersVia(node);
	}

	/** Whether a producer exists here (a local peer's or another node's brought over a link). */
	has(producerId: string): boolean {
		return this.#findProducer(producerId) !== undefined;
	}

	/**
	 * A producer of another node's copy of this room, produced on this room's main router over
	 * a link (sfu/cascade): consumed as any other, never announced as a local one (its node does
	 * that), heard by the active speaker observer. It goes when it closes.
	 */
	addRemoteProducer(producer: Producer): void {
		this.#assertOpen();
		this.#links.addRemote(producer);
	}

	/**
	 * A producer goes over a link to another node: it is made available on the main router
	 * (where the link is) and a local one is kept at its top layer (the other node's people
	 * choose theirs there). Returns the release function (idempotent).
	 */
	linkProducer(producerId: string): Promise<() => void> {
		return this.#links.link(this.producer(producerId));
	}

	/** Keep the room open while something other than its peers needs it (a link to another node). Returns the release function. */
	hold(): () => void {
		this.#holds++;
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = undefined;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.#holds--;
			if (!this.#closed && this.#peers.size === 0 && this.#holds === 0) this.#scheduleEmptyClose();
		};
	}

	/** Find a producer of any peer in this room (never another room's), or one of another node's brought here. */
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

	/** The router a producer lives on (where a recording consumes it), if its peer's router is up. */
	routerOf(producer: Producer): types.Router | undefined {
		const peer = this.#peers.get(producer.appData.peerId);
		return peer ? this.#routers.entry(peer.workerIndex)?.router : undefined;
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

	#findProducer(producerId: string): Producer | undefined {
		return this.#findLocal(producerId) ?? this.#links.remote(producerId);
	}

	#findLocal(producerId: string): Producer | undefined {
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

	/** Make a producer consumable on a worker's router of this room (piping it there if needed). */
	async #lease(producer: Producer, workerIndex: number): Promise<() => void> {
		const from = this.#routers.entry(this.#links.remoteWorkerOf(producer) ?? this.#peers.get(producer.appData.peerId)?.workerIndex ?? -1);
		const to = this.#routers.entry(workerIndex);
		if (!from || !to) throw new NotFoundError(`producer ${producer.id} is not available right now (its media is moving)`);
		return this.#routers.lease(producer, from, to);
	}

	/** Whether someone on a worker consumes a producer, or the speaker observer there must hear it. */
	readonly #needed = (producerId: string, workerIndex: number): boolean => {
		if (this.#routers.main?.worker.index === workerIndex) {
			if (this.#links.isLinked(producerId)) return true;
			const producer = this.#findProducer(producerId);
			if (producer?.kind === 'audio') return true;
		}
		for (const peer of this.#peers.values()) {
			if (peer.workerIndex !== workerIndex) continue;
			for (const consumer of peer.consumers.values()) if (consumer.producerId === producerId) return true;
		}
		return false;
	};

	/** Let the active speaker observer hear a microphone, wherever it is. */
	#observe(peer: Peer, producer: Producer): void {
		const from = this.#routers.entry(peer.workerIndex);
		if (!from) return;
		void this.#routers
			.observe(producer, from)
			.catch((err: unknown) => logUnlessClosed(peer.log, producer, err, 'active speaker observer did not take the producer'));
	}

	/** Move every peer off a lost router to live workers; their clients reconnect their media. */
	async #moveOff(index: number): Promise<void> {
		const moving = [...this.#peers.values()].filter((p) => p.workerIndex === index);
		if (moving.length === 0) return;
		this.log.warn({ worker: index, peers: moving.length }, 'worker lost: moving its peers');
		for (const peer of moving) {
			if (peer.closed || this.#closed) continue;
			try {
				const entry = await this.#routers.routerOn(await this.#place(this.#routers.workers, index));
				if (peer.closed || this.#closed || peer.workerIndex !== index) continue;
				peer.relocate(placementOf(entry));
				this.emit('peermoved', peer, index, entry.worker.index);
			} catch (err) {
				if (this.#closed) return;
				this.log.error({ err, peerId: peer.id }, 'no live worker to move the peer to: closing the room');
				this.#close('worker-died');
				return;
			}
		}
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
		this.#links.close();
		this.#routers.close();
		this.log.info({ reason }, 'room closed');
		this.emit('close', reason);
		this.removeAllListeners();
	}

	#scheduleEmptyClose(): void {
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = setTimeout(() => {
			if (this.#peers.size === 0 && this.#holds === 0) this.#close('empty');
		}, this.#options.emptyTimeoutMs);
		this.#emptyTimer.unref();
	}

	#assertOpen(): void {
		if (this.#closed) throw new InvalidStateError(`room ${this.id} closed`);
	}
}

function placementOf(entry: RouterEntry): { router: types.Router; webRtcServer: types.WebRtcServer; workerIndex: number } {
	return { router: entry.router, webRtcServer: entry.worker.webRtcServer, workerIndex: entry.worker.index };
}
