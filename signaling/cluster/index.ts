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
import { NodeRegistry, type NodeInfo } from './NodeRegistry.ts';

export { NodeRegistry, type NodeInfo, type NodeLoad } from './NodeRegistry.ts';

export interface Cluster {
	/** cluster.nodeId, or <hostname>:<port> once listening. */
	readonly nodeId: string;
	readonly registry: NodeRegistry;
	/** Start heartbeating (once the server listens on `port`). */
	start(port: number): Promise<void>;
	close(): Promise<void>;
}

export interface ClusterOptions {
	config: Config;
	io: ParleyServer;
	sfu: Sfu;
	draining: () => boolean;
	log: Logger;
}

/** Install the Redis adapter on `io` and create the registry; null without `redis.url`. */
export function createCluster({ config, io, sfu, draining, log }: ClusterOptions): Cluster | null {
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
	const describe = (): Omit<NodeInfo, 'id' | 'startedAt' | 'heartbeatAt'> => {
		let peers = 0;
		for (const room of sfu.rooms.values()) peers += room.peers.size;
		return {
			url: config.http.publicUrl ?? `http://localhost:${config.http.port}`,
			mediaAddress: config.media.announcedAddress ?? config.media.listenIp,
			mediaPorts: sfu.pool.ports,
			load: { rooms: sfu.rooms.size, peers, consumers: sfu.pool.workers.reduce((n, w) => n + w.consumers, 0) },
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
		start: async (port) => {
			const nodeId = config.cluster.nodeId ?? `${os.hostname()}:${port}`;
			registry = new NodeRegistry({ redis, nodeId, heartbeatMs: config.cluster.heartbeatMs, ttlMs: config.cluster.nodeTtlMs, log: clog, describe });
			await registry.start();
		},
		close: async () => {
			await registry?.close();
			redis.disconnect();
		},
	};
}
