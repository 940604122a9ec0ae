/**
 * Cascading: the links (sfu/cascade NodePipe, mediasoup PipeTransports) between this
 * node's router of a room and other nodes' routers of the same room, negotiated over Redis
 * (CascadeBus). One link per (room, other node), opened on first need:
 *   - `pull(room, node, producerId)`: a producer of the other node is produced on this node's
 *     router (same id), so this node's participants consume it as any other;
 *   - `push(room, node, producerId)`: a producer of this node is produced on the other's router.
 * Only what is asked for crosses, each producer once per link.
 */
import type { types } from 'mediasoup';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NodePipe, type PipedProducer } from '../../sfu/cascade/NodePipe.ts';
import { CascadeBus, type CascadeBody, type CascadeMethod, type CascadeResult, type MeetingMirror, type MeetingRequest, type MeetingResult, type ModerateRequest, type ModerateResult } from './CascadeBus.ts';

/** A local producer made ready to go over a link: what goes with it, and what to call when it stops. */
export interface Offered {
	appData: Record<string, unknown>;
	release: () => void;
}

export interface CascadeOptions {
	redis: Redis;
	nodeId: string;
	/** This node's router of the room (the room is opened here if it is not yet). */
	router: (room: string) => Promise<types.Router>;
	/** Make a producer of this node's copy of `room` ready to be sent (default: as it is, no appData). */
	offer?: (room: string, producerId: string) => Promise<Offered>;
	/** A producer of another node was produced here (pulled or pushed). */
	received?: (room: string, producer: types.Producer) => void;
	/** A link of `room` with `node` opened; the function returned is called when it closes. */
	linked?: (room: string, node: string) => () => void;
	/** Who is in this node's copy of `room` (answer to another node's `roster`). */
	roster?: (room: string) => CascadeResult<'roster'>;
	/** A host control from `from` for this node's participants of the room (answer to `moderate`). */
	moderate?: (from: string, request: ModerateRequest) => Promise<ModerateResult>;
	/** A copy's report or change for the meeting hosted here (answer to `meeting`). */
	meeting?: (from: string, request: MeetingRequest) => Promise<MeetingResult>;
	/** The host node's meeting, for this node's copy (answer to `mirror`). */
	mirror?: (from: string, mirror: MeetingMirror) => Promise<void>;
	/** `from` claimed the room: this node's copy of it follows the new host (answer to `rehost`). */
	rehost?: (from: string, room: string) => Promise<void>;
	/** Where pipe transports listen (media.listenIp) and the address other nodes send to. */
	listenIp: string;
	announcedAddress?: string;
	portRange?: { min: number; max: number };
	srtp?: boolean;
	log: Logger;
}

export class Cascade {
	readonly #options: CascadeOptions;
	readonly #log: Logger;
	#bus: CascadeBus | undefined;
	/** room → other node → link. */
	readonly #links = new Map<string, Map<string, Promise<NodePipe>>>();
	/** The links set up (for counting what crosses them). */
	readonly #pipes = new Set<NodePipe>();
	#closed = false;

	private constructor(options: CascadeOptions) {
		this.#options = options;
		this.#log = options.log.child({ component: 'cascade' });
	}

	static async create(options: CascadeOptions): Promise<Cascade> {
		const cascade = new Cascade(options);
		cascade.#bus = await CascadeBus.create({
			redis: options.redis,
			nodeId: options.nodeId,
			log: cascade.#log,
			handle: (method, from, body) => cascade.#handle(method, from, body),
		});
		return cascade;
	}

	/** Open links (for metrics): rooms × other nodes. */
	get links(): number {
		let n = 0;
		for (const m of this.#links.values()) n += m.size;
		return n;
	}

	/** Streams crossing this node's links (sent and received, each counted once per link). */
	get streams(): number {
		let n = 0;
		for (const pipe of this.#pipes) n += pipe.sent + pipe.received;
		return n;
	}

	/** Bring a producer of `node` onto this node's router of `room`. */
	async pull(room: string, node: string, producerId: string): Promise<types.Producer> {
		const pipe = await this.#link(room, node);
		const piped = await this.#bus!.request(node, 'pull', { room, producerId });
		const producer = await pipe.receive(asPiped(piped));
		this.#options.received?.(room, producer);
		return producer;
	}

	/** Send a producer of this node's router of `room` to `node`. */
	async push(room: string, node: string, producerId: string): Promise<void> {
		const pipe = await this.#link(room, node);
		const piped = await this.#send(room, pipe, producerId);
		await this.#bus!.request(node, 'push', { room, producer: piped });
	}

	/** This node no longer needs a producer it pulled from `node`: its copy closes, and `node` stops sending it. */
	release(room: string, node: string, producerId: string): void {
		const pending = this.#links.get(room)?.get(node);
		if (!pending) return;
		void pending.then((pipe) => {
			if (!pipe.receiving(producerId)) return;
			pipe.stopReceiving(producerId);
			void this.#bus?.request(node, 'stop', { room, producerId }).catch(() => undefined);
		}, () => undefined);
	}

	/** Who is in `node`'s copy of `room`. */
	roster(room: string, node: string): Promise<CascadeResult<'roster'>> {
		return this.#bus!.request(node, 'roster', { room });
	}

	/** Ask `node` to carry out a host control on its participants of the room. */
	moderate(node: string, request: ModerateRequest): Promise<ModerateResult> {
		return this.#bus!.request(node, 'moderate', request);
	}

	/** Tell the host node of a room about its meeting (a copy's report, or a change). */
	meeting(node: string, request: MeetingRequest): Promise<MeetingResult> {
		return this.#bus!.request(node, 'meeting', request);
	}

	/** Send the meeting hosted here to a node serving a copy of it. */
	async mirror(node: string, mirror: MeetingMirror): Promise<void> {
		await this.#bus!.request(node, 'mirror', mirror);
	}

	/** Tell a node serving a copy of `room` that this node hosts it now. */
	async rehost(node: string, room: string): Promise<void> {
		await this.#bus!.request(node, 'rehost', { room });
	}

	/** Whether this node has a link of `room` with `node`. */
	linkedWith(room: string, node: string): boolean {
		return this.#links.get(room)?.has(node) ?? false;
	}

	/** Whether this node has a link of `room` (to any node). */
	linkedRoom(room: string): boolean {
		return (this.#links.get(room)?.size ?? 0) > 0;
	}

	async #send(room: string, pipe: NodePipe, producerId: string): Promise<CascadeResult<'pull'>> {
		const offered = this.#options.offer ? await this.#options.offer(room, producerId) : { appData: {}, release: () => undefined };
		let used = false;
		try {
			return await pipe.send(producerId, offered.appData, () => {
				used = true;
				return offered.release;
			});
		} finally {
			if (!used) offered.release();
		}
	}

	/** Close the links of a room (it ended here). */
	closeRoom(room: string): void {
		const links = this.#links.get(room);
		if (!links) return;
		this.#links.delete(room);
		for (const [node, pending] of links) {
			void pending.then((p) => p.close(), () => undefined);
			void this.#bus?.request(node, 'close', { room }).catch(() => undefined);
		}
	}

	/** A node is gone (no heartbeat): close every link with it (it will not say so). Returns their rooms. */
	closeNode(node: string): string[] {
		const rooms: string[] = [];
		for (const [room, links] of this.#links) {
			const pending = links.get(node);
			if (!pending) continue;
			links.delete(node);
			rooms.push(room);
			void pending.then((p) => p.close(), () => undefined);
		}
		return rooms;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const links of this.#links.values()) for (const pending of links.values()) void pending.then((p) => p.close(), () => undefined);
		this.#links.clear();
		this.#bus?.close();
	}

	/** The link of `room` to `node`, opened (both sides connected) on first need. */
	#link(room: string, node: string): Promise<NodePipe> {
		return this.#ensure(room, node, async (pipe) => {
			const remote = await this.#bus!.request(node, 'open', { room, endpoint: pipe.local });
			await pipe.connect(remote);
		});
	}

	#ensure(room: string, node: string, connect: (pipe: NodePipe) => Promise<void>): Promise<NodePipe> {
		if (this.#closed) return Promise.reject(new Error('cascade closed'));
		let links = this.#links.get(room);
		if (!links) this.#links.set(room, (links = new Map()));
		let pending = links.get(node);
		if (!pending) {
			const { listenIp, announcedAddress, portRange, srtp } = this.#options;
			pending = (async () => {
				const router = await this.#options.router(room);
				const pipe = await NodePipe.create({
					router,
					remoteNode: node,
					listenIp,
					...(announcedAddress ? { announcedAddress } : {}),
					...(portRange ? { portRange } : {}),
					...(srtp !== undefined ? { srtp } : {}),
					log: this.#log.child({ roomId: room }),
				});
				const unlinked = this.#options.linked?.(room, node);
				this.#pipes.add(pipe);
				pipe.once('close', () => {
					this.#pipes.delete(pipe);
					if (this.#links.get(room)?.get(node) === pending) this.#links.get(room)!.delete(node);
					if (this.#links.get(room)?.size === 0) this.#links.delete(room);
					unlinked?.();
				});
				// What was sent over the link closed or paused here: the other node's copy follows.
				pipe.on('sentclose', (producerId) => void this.#bus?.request(node, 'unpipe', { room, producerId }).catch(() => undefined));
				pipe.on('sentpause', (producerId, paused) => void this.#bus?.request(node, 'paused', { room, producerId, paused }).catch(() => undefined));
				try {
					await connect(pipe);
				} catch (error) {
					pipe.close();
					throw error;
				}
				return pipe;
			})();
			links.set(node, pending);
			pending.catch(() => {
				if (this.#links.get(room)?.get(node) === pending) this.#links.get(room)!.delete(node);
			});
		}
		return pending;
	}

	async #handle<M extends CascadeMethod>(method: M, from: string, body: CascadeBody<M>): Promise<CascadeResult<M>> {
		const b = body as CascadeBody<CascadeMethod>;
		switch (method) {
			case 'open': {
				const { room, endpoint } = b as CascadeBody<'open'>;
				const pipe = await this.#ensure(room, from, (p) => p.connect(endpoint));
				return pipe.local as CascadeResult<M>;
			}
			case 'pull': {
				const { room, producerId } = b as CascadeBody<'pull'>;
				const pipe = await this.#existing(room, from);
				return (await this.#send(room, pipe, producerId)) as CascadeResult<M>;
			}
			case 'push': {
				const { room, producer } = b as CascadeBody<'push'>;
				const pipe = await this.#existing(room, from);
				const received = await pipe.receive(asPiped(producer));
				this.#options.received?.(room, received);
				return { producerId: producer.producerId } as CascadeResult<M>;
			}
			case 'close': {
				const { room } = b as CascadeBody<'close'>;
				const pending = this.#links.get(room)?.get(from);
				this.#links.get(room)?.delete(from);
				void pending?.then((p) => p.close(), () => undefined);
				return {} as CascadeResult<M>;
			}
			case 'unpipe': {
				const { room, producerId } = b as CascadeBody<'unpipe'>;
				(await this.#existing(room, from)).stopReceiving(producerId);
				return {} as CascadeResult<M>;
			}
			case 'paused': {
				const { room, producerId, paused } = b as CascadeBody<'paused'>;
				(await this.#existing(room, from)).setPaused(producerId, paused);
				return {} as CascadeResult<M>;
			}
			case 'stop': {
				const { room, producerId } = b as CascadeBody<'stop'>;
				(await this.#existing(room, from)).stopSending(producerId);
				return {} as CascadeResult<M>;
			}
			case 'roster': {
				const { room } = b as CascadeBody<'roster'>;
				return (this.#options.roster?.(room) ?? { peers: [], activeSpeaker: null }) as CascadeResult<M>;
			}
			case 'moderate': {
				const request = b as CascadeBody<'moderate'>;
				if (!this.#options.moderate) throw new Error('host controls are not served here');
				return (await this.#options.moderate(from, request)) as CascadeResult<M>;
			}
			case 'meeting': {
				if (!this.#options.meeting) throw new Error('meetings are not served here');
				return (await this.#options.meeting(from, b as CascadeBody<'meeting'>)) as CascadeResult<M>;
			}
			case 'rehost': {
				if (!this.#options.rehost) throw new Error('rooms are not served here');
				await this.#options.rehost(from, (b as CascadeBody<'rehost'>).room);
				return {} as CascadeResult<M>;
			}
			case 'mirror': {
				if (!this.#options.mirror) throw new Error('meetings are not served here');
				await this.#options.mirror(from, b as CascadeBody<'mirror'>);
				return {} as CascadeResult<M>;
			}
		}
		throw new Error(`unknown cascade request ${String(method)}`);
	}

	#existing(room: string, node: string): Promise<NodePipe> {
		const pending = this.#links.get(room)?.get(node);
		if (!pending) return Promise.reject(new Error(`no link for room ${room} with node ${node}`));
		return pending;
	}
}

/** The validated message as mediasoup's type: its shape was checked at the edge, mediasoup checks the values. */
function asPiped(p: CascadeResult<'pull'>): PipedProducer {
	return p as unknown as PipedProducer;
}
