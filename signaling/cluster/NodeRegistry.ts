/**
 * The cluster's node list in Redis. Each node writes its entry (public URL, media address
 * and ports, load) every `heartbeatMs` as a key that expires after `ttlMs`, and indexes it
 * in a sorted set scored by that expiry; a node that stops (crash, kill -9, partition) is
 * gone when its key expires, within `ttlMs`. Every heartbeat also reads the list, so each
 * node notices the others coming and going (`nodeseen` / `nodegone`).
 *
 * Keys (prefix `parley:`): `node:<id>` (JSON, PX ttl) and `nodes` (zset id → expiry, ms).
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface NodeLoad {
	rooms: number;
	peers: number;
	/** Streams forwarded by this node's workers. */
	consumers: number;
	/** Links to other nodes for rooms that span nodes (cascading). */
	links?: number;
	/** Streams crossing those links (sent and received). */
	piped?: number;
}

export interface NodeInfo {
	id: string;
	/** The URL people reach this node at (http.publicUrl). */
	url: string;
	/** media.announcedAddress and the workers' ports. */
	mediaAddress: string;
	mediaPorts: number[];
	load: NodeLoad;
	draining: boolean;
	startedAt: number;
	heartbeatAt: number;
}

export type NodeRegistryEvents = {
	nodeseen: [node: NodeInfo];
	nodegone: [id: string];
	/** This node's own entry went unwritten for longer than its TTL (paused, cut off from Redis): the others may have taken it for gone. */
	rejoined: [];
};

export interface NodeRegistryOptions {
	redis: Redis;
	nodeId: string;
	/** What this node publishes at each heartbeat (load and draining change). */
	describe: () => Omit<NodeInfo, 'id' | 'startedAt' | 'heartbeatAt'>;
	heartbeatMs: number;
	ttlMs: number;
	keyPrefix?: string;
	log: Logger;
}

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
	readonly #options: NodeRegistryOptions;
	readonly #prefix: string;
	readonly #startedAt = Date.now();
	/** Nodes seen alive at the last heartbeat (this one included). */
	readonly #known = new Map<string, NodeInfo>();
	/** When (this node's clock) each known node's latest heartbeat was first seen here. */
	readonly #seenAt = new Map<string, number>();
	#timer: NodeJS.Timeout | undefined;
	#beating: Promise<void> = Promise.resolve();
	#healthy = false;
	#closed = false;
	/** When this node's entry was last written (0: never). */
	#wroteAt = 0;

	constructor(options: NodeRegistryOptions) {
		super();
		this.#options = options;
		this.#prefix = options.keyPrefix ?? 'parley:';
	}

	get id(): string {
		return this.#options.nodeId;
	}

	/** Whether the last heartbeat reached Redis. */
	get healthy(): boolean {
		return this.#healthy;
	}

	/** The live nodes as of the last heartbeat. */
	get known(): ReadonlyMap<string, NodeInfo> {
		return this.#known;
	}

	/** First heartbeat (resolves even if Redis is unreachable: the next ones retry), then one every heartbeatMs. */
	async start(): Promise<void> {
		await this.#beat();
		this.#timer = setInterval(() => {
			this.#beating = this.#beating.then(() => this.#beat());
		}, this.#options.heartbeatMs);
		this.#timer.unref();
	}

	/** The live nodes, read from Redis now. */
	async list(): Promise<NodeInfo[]> {
		const redis = this.#options.redis;
		const ids = await redis.zrangebyscore(this.#key('nodes'), Date.now(), '+inf');
		if (ids.length === 0) return [];
		const values = await redis.mget(ids.map((id) => this.#key(`node:${id}`)));
		const nodes: NodeInfo[] = [];
		for (const value of values) {
			if (value === null) continue; // expired between the two reads
			try {
				nodes.push(JSON.parse(value) as NodeInfo);
			} catch {
				// not ours
			}
		}
		return nodes.sort((a, b) => a.id.localeCompare(b.id));
	}

	/** Leave the cluster at once (a clean stop); a crashed node leaves when its entry expires. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#timer);
		await this.#beating;
		const redis = this.#options.redis;
		await Promise.allSettled([redis.del(this.#key(`node:${this.id}`)), redis.zrem(this.#key('nodes'), this.id)]);
		this.removeAllListeners();
	}

	async #beat(): Promise<void> {
		if (this.#closed) return;
		const { redis, ttlMs, log } = this.#options;
		const now = Date.now();
		const self: NodeInfo = { ...this.#options.describe(), id: this.id, startedAt: this.#startedAt, heartbeatAt: now };
		try {
			await redis
				.multi()
				.set(this.#key(`node:${this.id}`), JSON.stringify(self), 'PX', ttlMs)
				.zadd(this.#key('nodes'), now + ttlMs, this.id)
				.zremrangebyscore(this.#key('nodes'), '-inf', now)
				.exec();
			const lapsedMs = this.#wroteAt > 0 ? now - this.#wroteAt : 0;
			this.#wroteAt = now;
			const nodes = await this.list();
			if (!this.#healthy) log.info({ nodeId: this.id, nodes: nodes.map((n) => n.id) }, 'cluster: registered');
			this.#healthy = true;
			this.#reconcile(nodes);
			if (lapsedMs >= ttlMs) {
				log.warn({ nodeId: this.id, lapsedMs }, 'cluster: this node\'s entry lapsed (the others may have taken it for gone); it links its rooms again');
				this.emit('rejoined');
			}
		} catch (error) {
			if (this.#healthy) log.error({ err: error, nodeId: this.id }, 'cluster: heartbeat failed (Redis unreachable?)');
			this.#healthy = false;
		}
	}

	#reconcile(nodes: NodeInfo[]): void {
		const alive = new Set(nodes.map((n) => n.id));
		const now = Date.now();
		for (const [id, info] of [...this.#known]) {
			if (alive.has(id) || id === this.id) continue;
			// Missing before its entry could have expired (a Redis restarted without its data):
			// it is gone only if it does not write its entry again within its TTL.
			const seen = Math.min(info.heartbeatAt, this.#seenAt.get(id) ?? info.heartbeatAt);
			if (now - seen < this.#options.ttlMs) continue;
			this.#known.delete(id);
			this.#seenAt.delete(id);
			this.#options.log.warn({ nodeId: id }, 'cluster: a node is gone (no heartbeat)');
			this.emit('nodegone', id);
		}
		for (const node of nodes) {
			const seen = this.#known.has(node.id);
			// When its heartbeat was new to this node (its own clock may differ).
			if (this.#known.get(node.id)?.heartbeatAt !== node.heartbeatAt) this.#seenAt.set(node.id, now);
			this.#known.set(node.id, node);
			if (!seen && node.id !== this.id) {
				this.#options.log.info({ nodeId: node.id, url: node.url }, 'cluster: node seen');
				this.emit('nodeseen', node);
			}
		}
	}

	#key(name: string): string {
		return `${this.#prefix}${name}`;
	}
}
