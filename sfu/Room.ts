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
import { measurePeer } from './quality/connectionQuality.ts';
import { InvalidStateError, NotFoundError } from './errors.ts';
import { Peer, type Producer } from './Peer.ts';
import type { PooledWorker } from './WorkerPool.ts';
import type { PeerLimits } from './limits.ts';
import { routerCodecs } from './codecs.ts';
import { RoomRouters, type RouterEntry } from './RoomRouters.ts';
import { RoomLinks } from './RoomLinks.ts';
import { ProducerDemand } from './ProducerDemand.ts';
import { RoomSpeaker } from './RoomSpeaker.ts';
import { RoomMover, placementOf } from './RoomMover.ts';
import { PreparedReceive, type PrepareConsumersOptions } from './PreparedReceive.ts';
import { openWebRtcTransport } from './webRtcTransport.ts';

/** Picks the worker for a peer among the live ones (waiting for one when none is). */
export type Placer = (roomWorkers: readonly number[], avoid?: number) => Promise<PooledWorker>;

export interface RoomOptions {
	emptyTimeoutMs: number;
	videoCodec: 'vp8' | 'vp9';
	/** How often connection quality is measured (ms); 0 turns it off. */
	qualityIntervalMs: number;
	/** Dynacast waits this long before telling a publisher to drop layers (ms). */
	dynacastLowerDelayMs: number;
	/** Least time between two keyframe requests to a video publisher (ms; see config media.keyFrameRequestDelayMs). */
	keyFrameRequestDelayMs: number;
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
	/** Where and how large producers are needed: pipes, dynacast, top-layer holds. */
	readonly #demand: ProducerDemand;
	/** Links to other nodes' copies of this room (cascading). */
	readonly #links: RoomLinks;
	readonly #speaker: RoomSpeaker;
	readonly #mover: RoomMover;
	/** Things outside the peers that keep the room open (links to other nodes). */
	#holds = 0;
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
		this.#links = new RoomLinks(
			{
				id,
				log: this.log,
				routers,
				findLocal: (producerId) => this.#findLocal(producerId),
				workerOf: (peerId) => this.#peers.get(peerId)?.workerIndex,
				consumed: (producerId) => [...this.#peers.values()].some((peer) => [...peer.consumers.values()].some((c) => c.producerId === producerId)),
				holdTopLayer: (producer) => this.holdTopLayer(producer),
				sweep: (producerId) => this.#demand.sweep(producerId),
			},
			options.pipeIdleMs ?? 1000,
		);
		this.#links.on('unused', (producerId) => this.emit('remoteunused', producerId));
		this.#demand = new ProducerDemand({
			log: this.log,
			routers,
			peers: this.#peers,
			links: this.#links,
			lowerDelayMs: options.dynacastLowerDelayMs,
			findProducer: (producerId) => this.#findProducer(producerId),
		});
		this.#demand.on('layers', (producer, layer) => this.emit('producerlayers', producer, layer));
		this.#speaker = new RoomSpeaker(routers, this.#peers);
		this.#speaker.on('activespeaker', (peerId) => this.emit('activespeaker', peerId));
		this.#mover = new RoomMover(routers, this.#peers, place, this.log);
		this.#mover.on('peermoved', (peer, from, to) => this.emit('peermoved', peer, from, to));
		this.#mover.on('failed', () => this.#close('worker-died'));
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
		return this.#speaker.activeSpeaker;
	}

	/** Every router of a room has the same codecs, so the same capabilities (kept from the first). */
	get rtpCapabilities(): types.RtpCapabilities {
		return this.#rtpCapabilities;
	}

	get peers(): ReadonlyMap<string, Peer> {
		return this.#peers;
	}

	/** Every producer of this node's peers but `peerId`'s (what that peer consumes on joining). */
	producersExcept(peerId: string): Producer[] {
		return [...this.#peers.values()].filter((p) => p.id !== peerId).flatMap((p) => [...p.producers.values()]);
	}

	/**
	 * Add a peer, on the worker the placement policy picks. A peer with the same id (the same
	 * identity joining again) replaces the old one, which is closed first.
	 */
	async join(id: string, name: string, rtpCapabilities: types.RtpCapabilities, prepared?: PreparedReceive): Promise<Peer> {
		this.#assertOpen();
		this.#peers.get(id)?.close();
		if (this.#peers.size >= this.#options.maxPeers) throw new InvalidStateError(`room ${this.id} is full`);
		clearTimeout(this.#emptyTimer);
		this.#emptyTimer = undefined;
		let entry: RouterEntry;
		try {
			// With a receive transport prepared in the lobby: on its router, if that is still up.
			const at = prepared && !prepared.done ? this.#routers.entry(prepared.workerIndex) : undefined;
			entry = at && at.router.id === prepared?.routerId ? at : await this.#routers.routerOn(await this.#place(this.#routers.workers));
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
			keyFrameRequestDelayMs: this.#options.keyFrameRequestDelayMs,
			logger: this.log,
			...(this.#options.peerLimits ? { limits: this.#options.peerLimits } : {}),
			beforeConsume: (producer, at) => this.#demand.lease(producer, at.workerIndex),
		});
		this.#peers.set(id, peer);
		peer.on('newproducer', (p) => {
			if (p.kind === 'audio') this.#speaker.observe(peer, p);
			else this.#demand.update(p);
			this.emit('newproducer', p);
		});
		peer.on('producerclose', (p) => this.emit('producerclose', p));
		peer.on('demandchange', (producerId) => {
			const producer = this.#findLocal(producerId);
			if (producer) this.#demand.update(producer);
			this.#demand.sweep(producerId);
			this.#links.checkUse(producerId);
		});
		peer.on('producerpause', (p) => this.emit('producerpause', p));
		peer.on('producerresume', (p) => this.emit('producerresume', p));
		peer.once('close', () => {
			if (this.#peers.get(id) === peer) this.#peers.delete(id);
			this.#speaker.forget(id);
			// Its consumers are gone: what the others publish may be needed less now.
			for (const other of this.#peers.values()) for (const p of other.producers.values()) this.#demand.update(p);
			this.#demand.sweep();
			for (const producerId of this.#links.remoteIds()) this.#links.checkUse(producerId);
			peer.log.info('peer left');
			this.emit('peerleft', peer);
			if (this.#peers.size === 0 && this.#holds === 0) this.#scheduleEmptyClose();
		});
		peer.log.info({ name, peers: this.#peers.size, worker: entry.worker.index }, 'peer joined');
		this.emit('peerjoined', peer);
		return peer;
	}

	/**
	 * A receive transport for someone about to join (see PreparedReceive), on the worker the
	 * placement policy picks now; join(…, prepared) puts the peer on the same router. With
	 * `consume` (the lobby's capabilities), also paused consumers of the others' producers.
	 */
	async prepareReceive(consume?: Omit<PrepareConsumersOptions, 'producers' | 'lease'>): Promise<PreparedReceive> {
		this.#assertOpen();
		const entry = await this.#routers.routerOn(await this.#place(this.#routers.workers));
		this.#assertOpen();
		const standby = await this.#routers.standbyDataProducer(entry);
		const placement = placementOf(entry);
		const settings = { initialOutgoingBitrate: this.#options.initialOutgoingBitrate, minOutgoingBitrate: this.#options.minOutgoingBitrate, sctp: true };
		const transport = await openWebRtcTransport(placement, 'recv', settings, this.log);
		try {
			const dataConsumer = await transport.consumeData({ dataProducerId: standby.id });
			const prepared = new PreparedReceive(transport, dataConsumer, placement);
			// The publishers encode what the newcomer will be shown first, by the time they click.
			prepared.once('close', this.#demand.holdForNewcomer());
			// Its leases ended (taken: its consumers are the peer's by the next tick; closed: nobody's).
			prepared.once('close', () => queueMicrotask(() => this.closed || this.#demand.sweep()));
			if (consume) {
				await prepared.prepareConsumers({ ...consume, producers: this.producersExcept(consume.identity), lease: (producer) => this.#demand.lease(producer, placement.workerIndex) });
			}
			return prepared;
		} catch (error) {
			transport.close();
			throw error;
		}
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
		return this.#demand.sentFor(producerId);
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
		return this.#demand.holdTopLayer(producer);
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

	async #measureQuality(): Promise<void> {
		if (this.#closed || this.#peers.size === 0) return;
		const measured = [...this.#peers.values()].map((p) =>
			measurePeer(p, (id) => this.#demand.sentFor(id)).catch((err: unknown) => {
				if (!p.closed) p.log.warn({ err }, 'connection quality not measured');
				return undefined;
			}),
		);
		const peers = await Promise.all(measured);
		if (!this.#closed) this.emit('quality', peers.filter((q): q is QualityReport => q !== undefined));
	}

	close(): void {
		this.#close('closed');
	}

	#close(reason: 'empty' | 'worker-died' | 'closed'): void {
		if (this.#closed) return;
		this.#closed = true;
		clearTimeout(this.#emptyTimer);
		clearInterval(this.#qualityTimer);
		this.#demand.close();
		this.#speaker.close();
		this.#mover.close();
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
