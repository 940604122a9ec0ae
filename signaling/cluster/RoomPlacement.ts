/**
 * Which node hosts a room. A room is hosted by exactly one node: the key
 * `parley:room:<room>` holds the host's node id with a lease (PX) that the host renews while
 * it has the room; claims and take-overs are atomic (Lua compare-and-set), so two nodes never
 * hold one room at once.
 *
 * A connection for a room arrives at some node (the load balancer's choice):
 *   - the room is hosted here: accept;
 *   - hosted by another live node: redirect the client there (it reconnects through the
 *     load balancer with `?node=<id>`);
 *   - not hosted, or its host is dead (its registry entry expired): the least-loaded live,
 *     non-draining node is chosen; if that is this node (or the client was redirected here,
 *     and this node is not draining) it claims the room, taking it over from a dead host, otherwise the client is redirected.
 *
 * A room outgrows one node (`spreadPeers`, counted per node in `parley:roomnodes:<room>`):
 * once its host has that many of its participants, a connection goes to another live,
 * non-draining node (one already in the room with room left first, then the least loaded),
 * which serves it with its own copy of the room, linked to the host's (`spread`, cascading).
 *
 * A host that finds its lease taken by another node (it was cut off from Redis long enough to
 * be declared dead) gives the room up: `lost` is emitted and its clients are sent away.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeInfo, NodeRegistry } from './NodeRegistry.ts';

export type Placement =
	/** Hosted here (`claimed`: just now, by this placement). */
	| { host: 'self'; claimed?: boolean }
	| { host: 'other'; node: NodeInfo }
	/** Served here, in a copy of the room linked to its host `node` (the room spans nodes). */
	| { host: 'spread'; node: NodeInfo }
	| { host: 'none'; reason: string };

export type RoomPlacementEvents = {
	/** This node no longer hosts the room (another node holds its lease). */
	lost: [room: string, holder: string | null];
};

export interface RoomPlacementOptions {
	redis: Redis;
	registry: NodeRegistry;
	leaseMs: number;
	/** A room's host takes this many of its participants before the room spreads to other nodes (0: never). */
	spreadPeers?: number;
	/** Whether this node still has anything of the room (sockets, media): otherwise its lease is released. */
	inUse: (room: string) => boolean;
	/** Whether this node is draining (it keeps the rooms it hosts, and claims none). */
	draining?: () => boolean;
	keyPrefix?: string;
	log: Logger;
}

/** SET key to ARGV[1] with PX ARGV[2] if the key is absent or holds ARGV[3] (the expected old holder, '' for none). */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[3] or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
/** Renew if still ours (1), else 0. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;
/** Delete if still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RoomPlacement extends EventEmitter<RoomPlacementEvents> {
	readonly #options: RoomPlacementOptions;
	readonly #prefix: string;
	/** Rooms this node hosts (holds the lease of). */
	readonly #held = new Set<string>();
	/** What this node last counted of each room it has people of (0: a copy without media yet), written again at each renewal. */
	readonly #counts = new Map<string, number>();
	readonly #timer: NodeJS.Timeout;
	#closed = false;

	constructor(options: RoomPlacementOptions) {
		super();
		this.#options = options;
		this.#prefix = options.keyPrefix ?? 'parley:';
		this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(options.leaseMs / 3)));
		this.#timer.unref();
	}

	get held(): ReadonlySet<string> {
		return this.#held;
	}

	/** The node that hosts `room` now (null: none, or its lease expired). */
	async holder(room: string): Promise<string | null> {
		return this.#options.redis.get(this.#key(room));
	}

	/** Decide where a connection for `room` goes; `redirected`: the client was sent here by another node. */
	async place(room: string, redirected: boolean): Promise<Placement> {
		const { registry } = this.#options;
		for (let attempt = 0; attempt < 3; attempt++) {
			const owner = await this.holder(room);
			if (owner === registry.id) {
				this.#held.add(room);
				return { host: 'self' };
			}
			const nodes = await registry.list();
			const live = owner ? nodes.find((n) => n.id === owner) : undefined;
			if (live) return (await this.#spread(room, live, nodes, redirected)) ?? { host: 'other', node: live };
			// Sent here by another node's choice: take it, unless this node is draining (a load balancer
			// may still route a client's `?node=` here for a health check or two; claiming the room
			// would make a new meeting here that ends with the drain, and bounce its people between
			// the nodes until the lease goes).
			// (Its own registry entry may not say so yet: left out by hand.)
			const draining = this.#options.draining?.() ?? false;
			const target = redirected && !draining ? registry.id : chooseNode(draining ? nodes.filter((n) => n.id !== registry.id) : nodes, registry.id);
			if (!target) return { host: 'none', reason: 'no live node takes new meetings' };
			if (target !== registry.id) return { host: 'other', node: nodes.find((n) => n.id === target)! };
			if (await this.#claim(room, owner)) {
				this.#options.log.info({ roomId: room, previous: owner }, owner ? 'cluster: room taken over from a dead node' : 'cluster: room claimed');
				return { host: 'self', claimed: true };
			}
			// Someone else claimed it meanwhile: look again.
		}
		return { host: 'none', reason: 'the room is being placed; retry' };
	}

	/** This node has `peers` participants of `room` (what spreading counts). */
	async count(room: string, peers: number): Promise<void> {
		const { redis, registry, leaseMs } = this.#options;
		const key = this.#countKey(room);
		if (peers > 0) this.#counts.set(room, peers);
		else this.#counts.delete(room);
		if (peers > 0) await redis.multi().hset(key, registry.id, peers).pexpire(key, Math.max(leaseMs * 10, 3_600_000)).exec();
		else await redis.hdel(key, registry.id);
	}

	/**
	 * This node serves a copy of `room`: it is counted in the room (0 participants until one joins
	 * the media), so the host takes its meeting reports (someone waiting there) as from a node of the room.
	 */
	async enter(room: string): Promise<void> {
		const { redis, registry, leaseMs } = this.#options;
		const key = this.#countKey(room);
		if (!this.#counts.has(room)) this.#counts.set(room, 0);
		await redis.multi().hsetnx(key, registry.id, 0).pexpire(key, Math.max(leaseMs * 10, 3_600_000)).exec();
	}

	/** The nodes with participants of `room` (by their own count), this one included. */
	async counts(room: string): Promise<Map<string, number>> {
		const raw = await this.#options.redis.hgetall(this.#countKey(room));
		return new Map(Object.entries(raw).map(([node, n]) => [node, Number(n)]));
	}

	/**
	 * Where a connection for a room hosted by another live node goes when the host is full:
	 * null (to the host), `spread` (served here), or `other` (another node with room left).
	 */
	async #spread(room: string, host: NodeInfo, nodes: readonly NodeInfo[], redirected: boolean): Promise<Placement | null> {
		const limit = this.#options.spreadPeers ?? 0;
		if (limit <= 0) return null;
		const self = this.#options.registry.id;
		// A draining host takes nobody new (and the load balancer no longer routes to it): a
		// newcomer to its running meeting is served here, in a copy linked to it.
		if (host.draining && nodes.some((n) => n.id === self && !n.draining)) return { host: 'spread', node: host };
		const counts = await this.counts(room);
		if ((counts.get(host.id) ?? 0) < limit) return null;
		const open = nodes.filter((n) => n.id !== host.id && !n.draining && (counts.get(n.id) ?? 0) < limit);
		// Sent here by another node's choice: take it.
		if (redirected && open.some((n) => n.id === self)) return { host: 'spread', node: host };
		// Nodes already in the room first (fewer links), then the one with most headroom.
		const inRoom = open.filter((n) => (counts.get(n.id) ?? 0) > 0);
		const pick = chooseNode(inRoom.length > 0 ? inRoom : open, self);
		if (!pick) return null;
		if (pick === self) return { host: 'spread', node: host };
		return { host: 'other', node: nodes.find((n) => n.id === pick)! };
	}

	/** Serve the room here without a claim (Redis unreachable): the renewal claims it, or gives it up to its holder. */
	adopt(room: string): void {
		this.#held.add(room);
	}

	/**
	 * Give up every room this node hosts (a drained node ending its meetings): their people,
	 * reconnecting, are placed on another node at once instead of being sent back here.
	 */
	async releaseAll(): Promise<void> {
		const { redis, registry, log } = this.#options;
		const rooms = [...this.#held];
		this.#held.clear();
		await Promise.all(rooms.map((room) => redis.eval(RELEASE, 1, this.#key(room), registry.id).catch(() => undefined)));
		if (rooms.length > 0) log.info({ rooms: rooms.length }, 'cluster: rooms released (drained)');
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#timer);
		const { redis, registry } = this.#options;
		for (const room of this.#held) void redis.eval(RELEASE, 1, this.#key(room), registry.id).catch(() => undefined);
		this.#held.clear();
		this.removeAllListeners();
	}

	async #claim(room: string, expected: string | null): Promise<boolean> {
		const { redis, registry, leaseMs } = this.#options;
		const done = (await redis.eval(CLAIM, 1, this.#key(room), registry.id, String(leaseMs), expected ?? '')) === 1;
		if (done) this.#held.add(room);
		return done;
	}

	async #renew(): Promise<void> {
		await this.#recount();
		const { redis, registry, leaseMs, inUse, log } = this.#options;
		for (const room of [...this.#held]) {
			if (this.#closed) return;
			try {
				if (!inUse(room)) {
					this.#held.delete(room);
					await redis.eval(RELEASE, 1, this.#key(room), registry.id);
					log.info({ roomId: room }, 'cluster: room released (nothing left of it here)');
					continue;
				}
				if ((await redis.eval(RENEW, 1, this.#key(room), registry.id, String(leaseMs))) === 1) continue;
				// Our lease expired (and maybe another node holds the room now): give it up.
				const holder = await this.holder(room);
				if (holder === null && (await this.#claim(room, null))) continue; // expired, nobody took it: ours again
				this.#held.delete(room);
				log.warn({ roomId: room, holder }, 'cluster: lost the lease of a room; its clients go to the new host');
				this.emit('lost', room, holder);
			} catch (error) {
				log.warn({ err: error, roomId: room }, 'cluster: cannot renew a room lease (Redis unreachable?)');
			}
		}
	}

	/**
	 * Write again what this node counts in each room it still has people of: the nodes of a
	 * spanning room find each other through these counts, and a Redis that restarted without
	 * its data has none (the host's meeting would reach no copy, and refuse their reports).
	 */
	async #recount(): Promise<void> {
		const { redis, registry, leaseMs, inUse } = this.#options;
		if (this.#counts.size === 0) return;
		const batch = redis.multi();
		for (const [room, peers] of [...this.#counts]) {
			if (!inUse(room)) {
				this.#counts.delete(room);
				continue;
			}
			const key = this.#countKey(room);
			if (peers > 0) batch.hset(key, registry.id, peers);
			else batch.hsetnx(key, registry.id, 0);
			batch.pexpire(key, Math.max(leaseMs * 10, 3_600_000));
		}
		await batch.exec().catch(() => undefined);
	}

	#key(room: string): string {
		return `${this.#prefix}room:{${room}}`;
	}

	#countKey(room: string): string {
		return `${this.#prefix}roomnodes:{${room}}`;
	}
}

/** The live node with the most headroom: not draining, fewest participants, then fewest forwarded streams, then id. */
export function chooseNode(nodes: readonly NodeInfo[], self: string): string | null {
	const candidates = nodes.filter((n) => !n.draining);
	candidates.sort(
		(a, b) =>
			a.load.peers - b.load.peers ||
			a.load.consumers - b.load.consumers ||
			// Prefer this node on a tie: no redirect.
			Number(b.id === self) - Number(a.id === self) ||
			a.id.localeCompare(b.id),
	);
	return candidates[0]?.id ?? null;
}
