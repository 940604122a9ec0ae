/**
 * A Parley cluster for tests and benchmarks: N real nodes (`node signaling/main.ts`, one
 * mediasoup worker each) on one Redis, sharing a JWT secret, and Socket.IO clients that
 * behave like the browser behind the load balancer: connect to any node, follow a
 * `wrong_node` refusal to the node named in it, and after a drop come back through any
 * live node (the load balancer's job, emulated here by trying the nodes in turn).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import type { TestClient } from '../../test/harness.ts';
import { startParley, type ParleyServer } from './parleyServer.ts';
import { freePort, randomMediaPort } from '../../test/ports.ts';
import { findExecutable } from '../../sfu/worker/workerBin.ts';

export interface ClusterNode extends ParleyServer {
	id: string;
}

export interface StartClusterOptions {
	redisUrl: string;
	/** Node ids (default a, b); a random suffix is added unless `exactIds`. */
	ids?: string[];
	exactIds?: boolean;
	env?: Record<string, string>;
	/** Media port of node i: basePort + i (default: random). */
	mediaBasePort?: number;
	/** HTTP port of node i: httpBasePort + i (default: free ports). */
	httpBasePort?: number;
	/** JWT secret shared by the nodes (default: random). */
	secret?: string;
}

export interface Cluster {
	nodes: ClusterNode[];
	/** Start node i again (same id, ports and secret), e.g. after kill(). */
	restart(i: number): Promise<ClusterNode>;
}

export async function startCluster(options: StartClusterOptions): Promise<ClusterNode[]> {
	return (await startClusterWithRestart(options)).nodes;
}

export async function startClusterWithRestart(options: StartClusterOptions): Promise<Cluster> {
	const secret = options.secret ?? randomBytes(24).toString('hex');
	const suffix = randomBytes(3).toString('hex');
	const base = options.mediaBasePort ?? randomMediaPort();
	const ids = (options.ids ?? ['a', 'b']).map((id) => (options.exactIds ? id : `${id}-${suffix}`));
	const httpPorts = await Promise.all(ids.map((_, i) => (options.httpBasePort ? options.httpBasePort + i : freePort())));
	const start = async (i: number): Promise<ClusterNode> => {
		const id = ids[i]!;
		const node = await startParley({
			mediaPort: base + i,
			secret,
			httpPort: httpPorts[i]!,
			// Nodes start together: give a loaded machine time.
			startTimeoutMs: 90_000,
			env: {
				PARLEY_REDIS_URL: options.redisUrl,
				PARLEY_CHAT_DURABILITY: 'process',
				PARLEY_CLUSTER_NODE_ID: id,
				...options.env,
			},
		});
		return Object.assign(node, { id });
	};
	const nodes = await Promise.all(ids.map((_, i) => start(i)));
	return {
		nodes,
		restart: async (i) => {
			const node = await start(i);
			nodes[i] = node;
			return node;
		},
	};
}

export interface PlacedClient {
	socket: TestClient;
	/** The node it is connected to. */
	node: string;
	/** wrong_node refusals followed to get there (redirectedTo.length). */
	redirects: number;
	/** The nodes those refusals named, in order. */
	redirectedTo: string[];
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
	const redirectedTo: string[] = [];
	let turn = entry;
	let last: unknown;
	while (Date.now() < until) {
		const node = target ?? nodes[turn++ % nodes.length]!;
		try {
			const socket = await attempt(node.url, token, asked);
			return { socket, node: node.id, redirects: redirectedTo.length, redirectedTo };
		} catch (error) {
			last = error;
			const data = (error as Refusal).data;
			if (data?.code === 'wrong_node' && data.node) {
				redirectedTo.push(data.node);
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

export interface Haproxy {
	url: string;
	pid: number;
	stop(): Promise<void>;
}

/**
 * haproxy (Debian package) with the shipped deploy/haproxy.cfg, its frontend on `port` and
 * its backend servers and use-server rules rewritten for these nodes (same settings otherwise).
 */
export async function startHaproxy(nodes: readonly ClusterNode[], port: number): Promise<Haproxy> {
	const root = path.join(import.meta.dirname, '..', '..');
	const shipped = readFileSync(path.join(root, 'deploy', 'haproxy.cfg'), 'utf8');
	const lines: string[] = [];
	for (const line of shipped.split('\n')) {
		if (/^\s*bind :3000/.test(line)) lines.push(`\tbind 127.0.0.1:${port}`);
		else if (/^\s*(server|use-server) node\d/.test(line)) continue;
		else lines.push(line);
	}
	for (const n of nodes) lines.push(`\tuse-server ${n.id} if { urlp(node) -m str ${n.id} }`);
	for (const n of nodes) lines.push(`\tserver ${n.id} ${new URL(n.url).host} cookie ${n.id}`);
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-haproxy-'));
	const file = path.join(dir, 'haproxy.cfg');
	writeFileSync(file, `${lines.join('\n')}\n`);
	// Debian puts haproxy in /usr/sbin, which is not on an ordinary user's PATH.
	const binary = findExecutable('haproxy', ['/usr/local/sbin', '/usr/sbin', '/sbin']);
	if (!binary) {
		rmSync(dir, { recursive: true, force: true });
		throw new Error('haproxy not found on PATH, nor in /usr/sbin or /sbin: install the Debian package haproxy (npm run setup -- --redis, as root)');
	}
	const child = spawn(binary, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	// A spawn failure is an 'error' event (unhandled, it would end the process): reported below as haproxy not starting.
	child.on('error', (error) => (output += `${error.message}\n`));
	child.stdout.on('data', (d: Buffer) => (output += d.toString()));
	child.stderr.on('data', (d: Buffer) => (output += d.toString()));
	const stop = async (): Promise<void> => {
		// (No pid: it never started, there is nothing to wait for.)
		if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			await exited;
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) break;
		try {
			// Up once a node answers through it (its health checks passed: rise 2 × 1 s).
			if ((await fetch(`${url}/healthz`)).ok) return { url, pid: child.pid!, stop };
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	await stop();
	throw new Error(`haproxy (${binary}) did not start: ${output.trim() || `exit ${child.exitCode ?? 'none'}`}`);
}


/**
 * Connect through the load balancer as the browser does (SignalingSession): follow
 * `wrong_node` with `?node=<id>` (after 1 s when sent to the node already asked for: the
 * balancer could not reach it), retry an unreachable or unavailable cluster every 100 ms.
 * `node`: the id asked for first (a client coming back after a drop still names its old node).
 */
export async function connectThrough(url: string, token: string, node?: string, deadlineMs = 20_000): Promise<PlacedClient> {
	const until = Date.now() + deadlineMs;
	let asked = node;
	const redirectedTo: string[] = [];
	let last: unknown;
	while (Date.now() < until) {
		try {
			const socket = await attempt(url, token, asked);
			return { socket, node: asked ?? '', redirects: redirectedTo.length, redirectedTo };
		} catch (error) {
			last = error;
			const data = (error as Refusal).data;
			if (data?.code === 'wrong_node' && data.node) {
				redirectedTo.push(data.node);
				const again = data.node === asked;
				asked = data.node;
				if (again) await new Promise((r) => setTimeout(r, 1000));
				continue;
			}
			if (typeof data?.code === 'string' && data.code !== 'unavailable') throw error;
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	throw new Error(`could not connect through ${url} within ${deadlineMs} ms: ${String(last)}`);
}
