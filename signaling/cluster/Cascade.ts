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
import { CascadeBus, type CascadeBody, type CascadeMethod, type CascadeResult } from './CascadeBus.ts';

export interface CascadeOptions {
	redis: Redis;
	nodeId: string;
	/** This node's router of the room (the room is opened here if it is not yet). */
	router: (room: string) => Promise<types.Router>;
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

	/** Bring a producer of `node` onto this node's router of `room`. */
	async pull(room: string, node: string, producerId: string): Promise<types.Producer> {
		const pipe = await this.#link(room, node);
		const piped = await this.#bus!.request(node, 'pull', { room, producerId });
		return pipe.receive(asPiped(piped));
	}

	/** Send a producer of this node's router of `room` to `node`. */
	async push(room: string, node: string, producerId: string): Promise<void> {
		const pipe = await this.#link(room, node);
		const piped = await pipe.send(producerId);
		await this.#bus!.request(node, 'push', { room, producer: piped });
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
				pipe.once('close', () => {
					if (this.#links.get(room)?.get(node) === pending) this.#links.get(room)!.delete(node);
				});
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
				return (await pipe.send(producerId)) as CascadeResult<M>;
			}
			case 'push': {
				const { room, producer } = b as CascadeBody<'push'>;
				const pipe = await this.#existing(room, from);
				await pipe.receive(asPiped(producer));
				return { producerId: producer.producerId } as CascadeResult<M>;
			}
			case 'close': {
				const { room } = b as CascadeBody<'close'>;
				const pending = this.#links.get(room)?.get(from);
				this.#links.get(room)?.delete(from);
				void pending?.then((p) => p.close(), () => undefined);
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
