/**
 * Several Parley nodes on one Redis (`redis.url` set): Socket.IO across nodes through the
 * official Redis streams adapter (broadcasts to a room reach its sockets on every node and
 * survive Redis disconnects: the stream is read from the last offset again), and the node
 * registry (NodeRegistry). Without Redis there is no cluster: one process, as before.
 */
import os from 'node:os';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import type { ParleyServer } from '../session.ts';
import { ErrorCode } from '../protocol/index.ts';
import { NodeRegistry, type NodeInfo } from './NodeRegistry.ts';
import { RoomPlacement } from './RoomPlacement.ts';
import { MeetingRecords } from './MeetingRecords.ts';
import { SpanningRooms } from './SpanningRooms.ts';
import type { MeetingMirror, MeetingRequest, MeetingResult, ModerateRequest, ModerateResult } from './CascadeBus.ts';

export { NodeRegistry, type NodeInfo, type NodeLoad } from './NodeRegistry.ts';
export { RoomPlacement, chooseNode, type Placement } from './RoomPlacement.ts';
export { SpanningRooms } from './SpanningRooms.ts';
export type { MeetingMirror, MeetingRequest, MeetingResult, ModerateRequest, ModerateResult } from './CascadeBus.ts';

export interface Cluster {
	/** cluster.nodeId, or <hostname>:<port> once listening. */
	readonly nodeId: string;
	readonly registry: NodeRegistry;
	/** Which node hosts each room (after start). */
	readonly placement: RoomPlacement;
	/** Meetings' moderation state in Redis, read by the next host after a failover. */
	readonly records: MeetingRecords;
	/** Rooms bigger than one node: copies of rooms hosted elsewhere, and the links between them (null before start). */
	readonly spanning: SpanningRooms | null;
	/** Resolves once started: a connection arriving between listen and start waits for it. */
	readonly ready: Promise<void>;
	/** Start heartbeating (once the server listens on `port`). */
	start(port: number): Promise<void>;
	close(): Promise<void>;
}

export interface ClusterOptions {
	config: Config;
	io: ParleyServer;
	sfu: Sfu;
	draining: () => boolean;
	/** Whether this node still has anything of a room (sockets, media); otherwise it releases the room. */
	inUse: (room: string) => boolean;
	/** Carry out a host control another node of the room sent for this node's participants. */
	moderate?: (request: ModerateRequest) => Promise<ModerateResult>;
	/** A copy's report or change for a meeting hosted here. */
	meeting?: (from: string, request: MeetingRequest) => Promise<MeetingResult>;
	/** The host node's meeting, for this node's copy of the room. */
	mirror?: (mirror: MeetingMirror) => void;
	log: Logger;
}

/** Install the Redis adapter on `io` and create the registry; null without `redis.url`. */
export function createCluster({ config, io, sfu, draining, inUse, moderate, meeting, mirror, log }: ClusterOptions): Cluster | null {
	const url = config.redis.url;
	if (!url) return null;
	const clog = log.child({ component: 'cluster' });
	const redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 2000 });
	let lastError = 0;
	redis.on('error', (err: Error) => {
		// Reconnection is ioredis's job; say so once every 10 s, not at every retry.
		if (Date.now() - lastError < 10_000) return;
		lastError = Date.now();
		clog.error({ err: err.message }, 'cluster: Redis error');
	});
	io.adapter(
		createAdapter(redis, {
			streamName: 'parley:socket.io',
			channelPrefix: 'parley:socket.io',
			// Nodes of the adapter (fetchSockets, serverSideEmit acks) follow the same rhythm as the registry.
			heartbeatInterval: config.cluster.heartbeatMs,
			heartbeatTimeout: config.cluster.nodeTtlMs,
		}),
	);
	let registry: NodeRegistry | undefined;
	let placement: RoomPlacement | undefined;
	let spanning: SpanningRooms | undefined;
	let markReady = (): void => {};
	const ready = new Promise<void>((resolve) => (markReady = resolve));
	const records = new MeetingRecords({ redis, ttlMs: 24 * 3600 * 1000, log: clog });
	const describe = (): Omit<NodeInfo, 'id' | 'startedAt' | 'heartbeatAt'> => {
		let peers = 0;
		for (const room of sfu.rooms.values()) peers += room.peers.size;
		return {
			url: config.http.publicUrl ?? `http://localhost:${config.http.port}`,
			mediaAddress: config.media.announcedAddress ?? config.media.listenIp,
			mediaPorts: sfu.pool.ports,
			load: { rooms: sfu.rooms.size, peers, consumers: sfu.pool.workers.reduce((n, w) => n + w.consumers, 0), links: spanning?.links ?? 0, piped: spanning?.piped ?? 0 },
			draining: draining(),
		};
	};
	const started = (): NodeRegistry => {
		if (!registry) throw new Error('the cluster is not started');
		return registry;
	};
	return {
		get nodeId() {
			return started().id;
		},
		get registry() {
			return started();
		},
		get placement() {
			started();
			return placement!;
		},
		get spanning() {
			return spanning ?? null;
		},
		records,
		ready,
		start: async (port) => {
			const nodeId = config.cluster.nodeId ?? `${os.hostname()}:${port}`;
			registry = new NodeRegistry({ redis, nodeId, heartbeatMs: config.cluster.heartbeatMs, ttlMs: config.cluster.nodeTtlMs, log: clog, describe });
			await registry.start();
			placement = new RoomPlacement({ redis, registry, leaseMs: config.cluster.roomLeaseMs, spreadPeers: config.cluster.roomSpreadPeers, inUse, draining, log: clog });
			spanning = await SpanningRooms.create({ config, redis, sfu, registry, placement, ...(moderate ? { moderate } : {}), ...(meeting ? { meeting } : {}), ...(mirror ? { mirror } : {}), log: clog });
			markReady();
		},
		close: async () => {
			await spanning?.close();
			placement?.close();
			await registry?.close();
			redis.disconnect();
		},
	};
}

type Middleware = Parameters<ParleyServer['use']>[0];

/** How long a handshake waits for the placement (Redis) before the room is served here. */
const PLACE_TIMEOUT_MS = 2000;

/**
 * Handshake step: accept a connection for a room this node hosts (claiming it when it is
 * nobody's), refuse it with `wrong_node` and the host's id otherwise (the client connects
 * again with `?node=<id>`; the load balancer routes it there).
 */
export function placeConnection(cluster: Cluster, log: Logger, hosted: (room: string) => Promise<void>): Middleware {
	return (socket, next) => {
		const room = socket.data.claims.room;
		const asked = socket.handshake.query.node;
		const refuse = (code: string, message: string, extra: Record<string, unknown> = {}): void => {
			const err = new Error(`${code}: ${message}`) as Error & { data?: unknown };
			err.data = { code, message, ...extra };
			next(err);
		};
		// Redis slow or gone: the meeting goes on here rather than not at all (when Redis is back, a
		// second host of the room finds its lease held by another node and sends its people there).
		const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('placement timed out')), PLACE_TIMEOUT_MS).unref());
		// Clients reconnecting at once after a restart arrive before the registry is started: they wait for it.
		const placed = cluster.ready.then(() => cluster.placement.place(room, typeof asked === 'string' && asked === cluster.nodeId));
		Promise.race([placed, timeout]).then(
			(placement) => {
				if (placement.host === 'self' || placement.host === 'spread') {
					if (placement.host === 'spread') cluster.spanning?.serveCopy(room, placement.node.id);
					else cluster.spanning?.hosted(room);
					// A copy is counted in the room; a room claimed here while copies of it live on is theirs to follow.
					const counted =
						placement.host === 'spread'
							? cluster.placement.enter(room).catch(() => undefined)
							: placement.claimed
								? (cluster.spanning?.claimed(room) ?? Promise.resolve())
								: Promise.resolve();
					// A room taken over (or hosted anew, or served as a copy): its meeting's state is read back first.
					return void counted.then(() => hosted(room)).then(
						() => next(),
						(error: unknown) => {
							log.warn({ err: error, roomId: room }, 'cluster: cannot read the meeting state; it starts from the defaults');
							next();
						},
					);
				}
				if (placement.host === 'other') {
					log.debug({ roomId: room, node: placement.node.id }, 'cluster: connection sent to the room\'s node');
					return refuse(ErrorCode.WrongNode, `this meeting is hosted by node ${placement.node.id}`, { node: placement.node.id });
				}
				refuse(ErrorCode.Unavailable, placement.reason);
			},
			(error: unknown) => {
				log.error({ err: error, roomId: room }, 'cluster: cannot place a room (Redis unreachable?); serving it here');
				void cluster.ready.then(() => cluster.placement.adopt(room));
				next();
			},
		);
	};
}
