/**
 * A room bigger than one node (cascading, the Jitsi way). The room's host node holds its
 * lease (RoomPlacement); once the host has `cluster.roomSpreadPeers` of its participants,
 * later ones are placed on other nodes, each of which serves them with its own copy of the
 * room (a "satellite"), linked to the host's with mediasoup PipeTransports (Cascade):
 *   - a satellite pushes every producer of its own participants to the host (so the host,
 *     and through it every other node, has them), and pulls from the host only the producers
 *     its participants consume, each once whatever the number of consumers;
 *   - the host answers pulls from its own producers and from those pushed by other satellites;
 *   - closes and pauses follow over the link (NodePipe), and the link closes when the
 *     satellite's last participant leaves.
 *
 * Signaling: every node sends its own participants' events (joined, left, producer new/
 * closed/paused/resumed) to the room's sockets on every node through the Socket.IO Redis
 * adapter, once the room spans; the host alone says who the active speaker is (its observer
 * hears every microphone). A participant joining a satellite learns who is on the other
 * nodes from them (`roster` over the cascade bus, from the nodes counted in the room). A
 * satellite announces a producer only once the host has it, so whoever hears of it can
 * consume it at once.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { NotFoundError, type Producer, type Room, type Sfu } from '../../sfu/index.ts';
import type { PeerInfo } from '../protocol/index.ts';
import { Cascade } from './Cascade.ts';
import type { MeetingMirror, MeetingRequest, MeetingResult, ModerateRequest, ModerateResult } from './CascadeBus.ts';
import type { NodeRegistry } from './NodeRegistry.ts';
import type { RoomPlacement } from './RoomPlacement.ts';
import { SpanRequests } from './SpanRequests.ts';

/** How long a consume on the host waits for a satellite's push in flight (ms). */
const PUSH_WAIT_MS = 3000;

export type SpanningRoomsEvents = {
	/** The host of a room served here as a copy is gone: its people here must be placed again. */
	hostlost: [room: string];
	/** A node with a copy of a room hosted here is gone: these people of it are gone with it. */
	peersgone: [room: string, peerIds: string[]];
	/** The room served here as a copy has a new host node (it claimed the room): the copy follows it. */
	rehosted: [room: string];
	/** The copy of a room here linked to its host again after this node was taken for gone: the other nodes' people must hear of this node's people again. */
	relinked: [room: string];
};

export interface SpanningRoomsOptions {
	config: Config;
	redis: Redis;
	sfu: Sfu;
	registry: NodeRegistry;
	placement: RoomPlacement;
	/** Carry out a host control on this node's participants of a room (its meeting here). */
	moderate?: (request: ModerateRequest) => Promise<ModerateResult>;
	/** A copy's report or change for a meeting hosted here (`from`: the copy's node). */
	meeting?: (from: string, request: MeetingRequest) => Promise<MeetingResult>;
	/** The host node's meeting, for this node's copy of the room. */
	mirror?: (mirror: MeetingMirror) => void;
	log: Logger;
}

export class SpanningRooms extends EventEmitter<SpanningRoomsEvents> {
	readonly #options: SpanningRoomsOptions;
	readonly #log: Logger;
	#cascade: Cascade | undefined;
	/** Rooms served here as copies: room → its host node. */
	readonly #satellites = new Map<string, string>();
	/** Rooms hosted here that other nodes' copies link to or asked about: their events go to every node. */
	readonly #spanning = new Set<string>();
	/** Producers of another node expected here (a push in flight): room/producer → waiters. */
	readonly #waiting = new Map<string, Set<() => void>>();
	/** The requests about the rooms' people and meetings with their other nodes (asked and answered). */
	readonly #requests: SpanRequests;
	#closed = false;

	private constructor(options: SpanningRoomsOptions) {
		super();
		this.#options = options;
		this.#log = options.log.child({ component: 'cascade' });
		this.#requests = new SpanRequests({
			...options,
			rooms: this,
			cascade: () => this.#cascade,
			spanning: (room) => this.#spanning.add(room),
			rehosted: (room) => this.emit('rehosted', room),
			log: this.#log,
		});
		options.registry.on('nodegone', (id) => {
			for (const [room, host] of this.#satellites) if (host === id) this.#hostGone(room);
			this.#copyGone(id);
		});
		options.registry.on('rejoined', () => this.#relink());
	}

	static async create(options: SpanningRoomsOptions): Promise<SpanningRooms> {
		const spanning = new SpanningRooms(options);
		const { config, redis, sfu, registry } = options;
		spanning.#cascade = await Cascade.create({
			redis,
			nodeId: registry.id,
			router: async (id) => {
				const router = (await sfu.room(id)).mainRouter;
				if (!router) throw new NotFoundError(`room ${id} has no router right now`);
				return router;
			},
			listenIp: config.media.listenIp,
			...(config.media.announcedAddress ? { announcedAddress: config.media.announcedAddress } : {}),
			offer: async (id, producerId) => {
				const room = await sfu.room(id);
				const producer = room.producer(producerId);
				return { appData: { ...producer.appData }, release: await room.linkProducer(producerId) };
			},
			received: (id, producer) => spanning.#received(id, producer as Producer),
			linked: (id, node) => {
				const room = sfu.rooms.get(id);
				const release = room?.hold();
				if (!spanning.#satellites.has(id)) spanning.#spanning.add(id);
				spanning.#log.info({ roomId: id, node }, 'cascade: room linked with another node');
				return () => release?.();
			},
			...spanning.#requests.answers,
			log: options.log,
		});
		return spanning;
	}

	/** Links open (rooms × other nodes). */
	get links(): number {
		return this.#cascade?.links ?? 0;
	}

	/** Streams crossing the links (sent and received). */
	get piped(): number {
		return this.#cascade?.streams ?? 0;
	}

	/** The room's connection was placed here as a copy of `host`'s room (RoomPlacement `spread`). */
	serveCopy(room: string, host: string): void {
		const previous = this.#satellites.get(room);
		if (previous === host) return;
		if (previous) this.#cascade?.closeRoom(room);
		this.#satellites.set(room, host);
		this.#spanning.delete(room);
		this.#log.info({ roomId: room, host }, 'cascade: serving a copy of a room hosted by another node');
	}

	/** The room is hosted here (claimed, or taken over): a copy it was becomes the room itself. */
	hosted(room: string): void {
		if (!this.#satellites.delete(room)) return;
		this.#cascade?.closeRoom(room);
		this.#log.info({ roomId: room }, 'cascade: this node hosts the room it served a copy of');
	}

	/** Whether this node serves `room` as a copy of another node's. */
	isCopy(room: string): boolean {
		return this.#satellites.has(room);
	}

	/** Whether the room spans nodes as far as this node knows (its events go to every node). */
	spans(room: string): boolean {
		return this.#satellites.has(room) || this.#spanning.has(room);
	}

	/** Follow a room of this node's SFU: counts for placement, pushes of a copy's producers, the link's end. */
	bind(room: Room): void {
		const { placement } = this.#options;
		const count = (): void => {
			void placement.count(room.id, room.closed ? 0 : room.peers.size).catch((err: unknown) => this.#log.warn({ err, roomId: room.id }, 'cascade: participant count not written'));
		};
		room.on('peerjoined', count);
		room.on('peerleft', () => {
			count();
			// The last participant of a copy left: its link closes (the host's copies of its producers with it).
			if (room.peers.size === 0 && this.#satellites.has(room.id)) this.#cascade?.closeRoom(room.id);
		});
		// A copy stops pulling what nobody here consumes any more (the host stops sending it).
		room.on('remoteunused', (producerId) => {
			const host = this.#satellites.get(room.id);
			if (host) this.#cascade?.release(room.id, host, producerId);
		});
		room.once('close', () => {
			void placement.count(room.id, 0).catch(() => undefined);
			this.#cascade?.closeRoom(room.id);
			this.#spanning.delete(room.id);
		});
	}

	/**
	 * Before announcing a producer of this node: a copy pushes it to the host first (then the
	 * host has it when its people hear of it). Resolves either way (a failed push is logged).
	 */
	async beforeAnnounce(room: Room, producer: Producer): Promise<void> {
		const host = this.#satellites.get(room.id);
		if (!host || !this.#cascade) return;
		try {
			await this.#cascade.push(room.id, host, producer.id);
		} catch (err) {
			if (!producer.closed) room.log.warn({ err, producerId: producer.id, host }, 'cascade: producer not sent to the host node');
		}
	}

	/**
	 * A producer of the room to consume here: a local one, one already brought over a link, or
	 * (on a copy) one pulled from the host now; on the host, one a copy is pushing right now.
	 */
	async producer(room: Room, producerId: string): Promise<Producer> {
		if (room.has(producerId)) return room.producer(producerId);
		const host = this.#satellites.get(room.id);
		if (host && this.#cascade) {
			await this.#cascade.pull(room.id, host, producerId);
			return room.producer(producerId);
		}
		if (this.#spanning.has(room.id)) await this.#waitFor(room.id, producerId);
		return room.producer(producerId);
	}

	/** The people on the other nodes of a spanning room (what each answers for its copy). */
	roster(room: string): Promise<{ peers: PeerInfo[]; activeSpeaker: string | null }> {
		return this.#requests.roster(room);
	}

	/** A host control (permission checked here) for the room's participants on the other nodes (SpanRequests). */
	moderate(request: ModerateRequest): Promise<ModerateResult> {
		return this.#requests.moderate(request);
	}

	/** The host node of a room served here as a copy (undefined: hosted here, or not spanning). */
	hostOf(room: string): string | undefined {
		return this.#satellites.get(room);
	}

	/** The room was just claimed here while other nodes may still serve copies of it: they follow this node (SpanRequests). */
	claimed(room: string): Promise<void> {
		return this.#requests.claimed(room);
	}

	/** Tell the host node of a room served here as a copy about its meeting (fails when it does not answer). */
	toHost(request: MeetingRequest): Promise<MeetingResult> {
		return this.#requests.toHost(request);
	}

	/** Send the meeting of a room hosted here to the other nodes of the room (each follows it). */
	mirror(mirror: MeetingMirror): Promise<void> {
		return this.#requests.mirror(mirror);
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		this.#cascade?.close();
		this.removeAllListeners();
	}

	/**
	 * This node was away longer than its TTL (paused, cut off): each host node of its copies
	 * closed its links with it and dropped its people. Each copy links to its host again, pushes
	 * its producers there and reports its people (as for a new host), and its people are
	 * announced again to the other nodes.
	 */
	#relink(): void {
		for (const [id, host] of [...this.#satellites]) {
			const room = this.#options.sfu.rooms.get(id);
			if (!room || room.closed) continue;
			this.#cascade?.closeRoom(id);
			this.#log.warn({ roomId: id, host }, 'cascade: this node was taken for gone; its copy links to the host node again');
			this.emit('rehosted', id);
			const pushes: Promise<void>[] = [];
			for (const peer of room.peers.values()) {
				for (const producer of peer.producers.values()) pushes.push(this.beforeAnnounce(room, producer));
			}
			void Promise.all(pushes).then(() => this.emit('relinked', id));
		}
	}

	#received(id: string, producer: Producer): void {
		const room = this.#options.sfu.rooms.get(id);
		if (!room || room.closed) {
			producer.close();
			return;
		}
		room.addRemoteProducer(producer);
		const key = `${id}\u0000${producer.id}`;
		const waiters = this.#waiting.get(key);
		this.#waiting.delete(key);
		for (const wake of waiters ?? []) wake();
	}

	#waitFor(room: string, producerId: string): Promise<void> {
		const key = `${room}\u0000${producerId}`;
		return new Promise<void>((resolve) => {
			let waiters = this.#waiting.get(key);
			if (!waiters) this.#waiting.set(key, (waiters = new Set()));
			const wake = (): void => {
				clearTimeout(timer);
				waiters!.delete(wake);
				if (waiters!.size === 0 && this.#waiting.get(key) === waiters) this.#waiting.delete(key);
				resolve();
			};
			const timer = setTimeout(wake, PUSH_WAIT_MS);
			timer.unref();
			waiters.add(wake);
		});
	}

	/** A node with copies of rooms hosted here died: its links close, and its people leave the others' lists. */
	#copyGone(node: string): void {
		const gone = new Map<string, string[]>();
		for (const id of this.#spanning) {
			const room = this.#options.sfu.rooms.get(id);
			const peers = room?.remotePeersVia(node).filter((p) => !room.peers.has(p)) ?? [];
			if (peers.length > 0) gone.set(id, peers);
		}
		const rooms = this.#cascade?.closeNode(node) ?? [];
		if (rooms.length > 0) this.#log.warn({ node, rooms: rooms.length }, 'cascade: a node with copies of rooms hosted here is gone; its links are closed');
		for (const [room, peers] of gone) this.emit('peersgone', room, peers);
	}

	#hostGone(room: string): void {
		this.#satellites.delete(room);
		this.#cascade?.closeRoom(room);
		this.#log.warn({ roomId: room }, 'cascade: the host node of a room served here is gone; its people here are placed again');
		this.emit('hostlost', room);
	}
}
