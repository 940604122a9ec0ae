/**
 * A Parley cluster for tests and benchmarks: N real nodes (`node signaling/main.ts`, one
 * mediasoup worker each) on one Redis, sharing a JWT secret, and Socket.IO clients that
 * behave like the browser behind the load balancer: connect to any node, follow a
 * `wrong_node` refusal to the node named in it, and after a drop come back through any
 * live node (the load balancer's job, emulated here by trying the nodes in turn).
 */
import { randomBytes } from 'node:crypto';
import { io as connect } from 'socket.io-client';
import type { TestClient } from '../../test/harness.ts';
import { startParley, type ParleyServer } from './parleyServer.ts';

export interface ClusterNode extends ParleyServer {
	id: string;
}

export interface StartClusterOptions {
	redisUrl: string;
	/** Node ids (default a, b). */
	ids?: string[];
	env?: Record<string, string>;
	/** Media port of node i: basePort + i (default: random). */
	mediaBasePort?: number;
	/** HTTP port of node i: httpBasePort + i (default: free ports). */
	httpBasePort?: number;
}

export async function startCluster(options: StartClusterOptions): Promise<ClusterNode[]> {
	const secret = randomBytes(24).toString('hex');
	const suffix = randomBytes(3).toString('hex');
	const base = options.mediaBasePort ?? 20000 + Math.floor(Math.random() * 20000);
	const ids = (options.ids ?? ['a', 'b']).map((id) => `${id}-${suffix}`);
	return Promise.all(
		ids.map(async (id, i) => {
			const node = await startParley({
				mediaPort: base + i,
				secret,
				...(options.httpBasePort ? { httpPort: options.httpBasePort + i } : {}),
				env: {
					PARLEY_REDIS_URL: options.redisUrl,
					PARLEY_CHAT_DURABILITY: 'process',
					PARLEY_CLUSTER_NODE_ID: id,
					...options.env,
				},
			});
			return Object.assign(node, { id });
		}),
	);
}

export interface PlacedClient {
	socket: TestClient;
	/** The node it is connected to. */
	node: string;
	/** wrong_node refusals followed to get there. */
	redirects: number;
}

type Refusal = Error & { data?: { code?: string; node?: string } };

function attempt(url: string, token: string, node: string | undefined): Promise<TestClient> {
	const socket: TestClient = connect(url, {
		auth: { token },
		...(node ? { query: { node } } : {}),
		transports: ['websocket'],
		reconnection: false,
		forceNew: true,
		timeout: 3000,
	});
	return new Promise((resolve, reject) => {
		socket.once('connect', () => resolve(socket));
		socket.once('connect_error', (error) => {
			socket.disconnect();
			reject(error);
		});
	});
}

/**
 * Connect as a browser behind the load balancer would: start at `entry` (index into the
 * live nodes), follow wrong_node to the named node, retry an unreachable or unavailable node
 * through the next live one, until `deadlineMs`.
 */
export async function connectPlaced(nodes: readonly ClusterNode[], token: string, entry = 0, deadlineMs = 15_000): Promise<PlacedClient> {
	const until = Date.now() + deadlineMs;
	let target: ClusterNode | undefined = nodes[entry % nodes.length];
	let asked: string | undefined;
	let redirects = 0;
	let turn = entry;
	let last: unknown;
	while (Date.now() < until) {
		const node = target ?? nodes[turn++ % nodes.length]!;
		try {
			const socket = await attempt(node.url, token, asked);
			return { socket, node: node.id, redirects };
		} catch (error) {
			last = error;
			const data = (error as Refusal).data;
			if (data?.code === 'wrong_node' && data.node) {
				redirects++;
				asked = data.node;
				target = nodes.find((n) => n.id === data.node);
				continue;
			}
			if (typeof data?.code === 'string' && data.code !== 'unavailable') throw error;
			// Unreachable (dead node) or not placeable yet: through the "load balancer" again.
			asked = undefined;
			target = undefined;
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	throw new Error(`could not connect within ${deadlineMs} ms: ${String(last)}`);
}
