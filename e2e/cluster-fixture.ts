/**
 * A throwaway cluster for the browser specs: a real redis-server, two Parley nodes
 * (production mode, one mediasoup worker each) and haproxy with the shipped
 * deploy/haproxy.cfg, on the developer's ports, all stopped by PID afterwards whatever the
 * test did. The specs enter through `lb.url`, the one address users get.
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { startCluster, startHaproxy, type ClusterNode, type Haproxy } from '../bench/lib/cluster.ts';
import { startRedisOnce } from '../test/redis.ts';
import { expect, type Participant } from './fixtures.ts';

export interface E2ECluster {
	nodes: ClusterNode[];
	lb: Haproxy;
	/** A client of the cluster's Redis (to read placement). */
	redis: Redis;
}

export interface E2EClusterOptions {
	redisPort: number;
	/** The nodes' HTTP ports are this and the next; haproxy's is `lbPort`. */
	httpBasePort: number;
	lbPort: number;
	mediaBasePort: number;
	/** More settings for both nodes. */
	env?: Record<string, string>;
}

/** Runs `fn` with a started cluster; stops all of it afterwards. */
export async function withCluster<T>(options: E2EClusterOptions, fn: (cluster: E2ECluster) => Promise<T>): Promise<T> {
	let redisServer: ChildProcess | undefined;
	let nodes: ClusterNode[] = [];
	let lb: Haproxy | undefined;
	let redis: Redis | undefined;
	try {
		redisServer = await startRedisOnce(options.redisPort);
		const redisUrl = `redis://127.0.0.1:${options.redisPort}`;
		nodes = await startCluster({
			redisUrl,
			ids: ['e2e-node1', 'e2e-node2'],
			httpBasePort: options.httpBasePort,
			mediaBasePort: options.mediaBasePort,
			...(options.env ? { env: options.env } : {}),
		});
		lb = await startHaproxy(nodes, options.lbPort);
		redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
		await redis.connect();
		return await fn({ nodes, lb, redis });
	} finally {
		redis?.disconnect();
		await lb?.stop();
		await Promise.allSettled(nodes.map((n) => n.stop()));
		if (redisServer && redisServer.exitCode === null) {
			const exited = new Promise((r) => redisServer!.once('exit', r));
			redisServer.kill('SIGTERM');
			await exited;
		}
	}
}

/** Opens the room through the cluster's one address with a token for `name`, and joins the call. */
export async function enterThroughCluster(p: Participant, cluster: E2ECluster, room: string, name: string): Promise<void> {
	const identity = name.toLowerCase();
	await p.page.goto(`/r/${room}?token=${cluster.nodes[0]!.token(room, identity, { publish: true, subscribe: true })}`);
	await expect(p.page.getByTestId('name-input')).toHaveValue(identity);
	await expect(p.page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
	await p.page.getByTestId('join-button').click();
	await expect(p.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 15_000 });
}
