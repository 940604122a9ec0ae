/**
 * Message throughput and ack latency of one Parley node, per store and durability setting,
 * in one run: a real server process, N participants sending through the real ChatClient
 * (acknowledged, in order), everyone receiving everything (and sending delivered receipts).
 *
 *   node bench/chat/throughput.ts [--clients 20] [--messages 200] [--rate 300] [--seconds 5]
 *                                 [--configs sqlite-disk,sqlite-process,redis-process,redis-disk]
 *
 * For each configuration two phases, each on a fresh server and room:
 *  - throughput: every client queues `messages` at once; messages/s until all have all;
 *  - latency: `rate` messages/s in total, paced, for `seconds`; ack p50/p99 at that load.
 * Configurations: sqlite-disk (synchronous=FULL, the default), sqlite-process
 * (synchronous=NORMAL), redis-process (AOF appendfsync everysec), redis-disk (AOF
 * appendfsync always). Prints a table and writes bench/results/chat-throughput.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { io as connect } from 'socket.io-client';
import { ChatClient, type ChatSocket } from '../../client/src/chat/ChatClient.ts';
import { mintToken } from '../../signaling/auth/tokens.ts';
import { drained } from '../../test/chat.ts';
import { freePort } from '../../test/ports.ts';


const { values } = parseArgs({
	options: {
		clients: { type: 'string', default: '20' },
		messages: { type: 'string', default: '200' },
		rate: { type: 'string', default: '300' },
		seconds: { type: 'string', default: '5' },
		configs: { type: 'string', default: 'sqlite-disk,sqlite-process,redis-process,redis-disk' },
	},
});
const CLIENTS = Number(values.clients);
const PER_CLIENT = Number(values.messages);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CONFIGS = values.configs.split(',').map((c) => c.trim()) as Config[];
type Config = 'sqlite-disk' | 'sqlite-process' | 'redis-process' | 'redis-disk';
const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600, maxTokenLifetimeSeconds: 86400 };

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
	for (let i = 0; i < 100; i++) {
		if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
		try {
			if ((await fetch(`${url}/healthz`)).ok) return;
		} catch {
			/* not yet */
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error('server did not become healthy');
}

const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] ?? NaN;

interface Result {
	config: Config;
	clients: number;
	messages: number;
	seconds: number;
	messagesPerSecond: number;
	deliveriesPerSecond: number;
	/** Ack round trip while flooding (includes the server's queueing). */
	floodAckP99Ms: number;
	/** The paced phase: offered rate, and ack p50/p99 at it. */
	pacedRate: number;
	pacedAckP50Ms: number;
	pacedAckP99Ms: number;
	serverCpuSeconds: number;
	/** Messages per second of server CPU (fan-out included): what one idle core would carry. */
	messagesPerServerCpuSecond: number;
	/** CPU of this process (the 20 participants) during the flood phase. */
	clientsCpuSeconds: number;
	loadAverage1m: number;
}

function cpuSeconds(pid: number): number {
	// utime + stime from /proc/<pid>/stat, in clock ticks (100 Hz on Linux).
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function withServer<T>(config: Config, redisUrl: string | undefined, fn: (url: string, pid: number) => Promise<T>): Promise<T> {
	const port = await freePort();
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-chat-'));
	const child = spawn(process.execPath, ['signaling/main.ts'], {
		cwd: ROOT,
		stdio: ['ignore', 'ignore', 'inherit'],
		env: {
			...process.env,
			PARLEY_DEV: 'false',
			PARLEY_AUTH_JWT_SECRETS: SECRET,
			PARLEY_HTTP_HOST: '127.0.0.1',
			PARLEY_HTTP_PORT: String(port),
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(port + 1),
			PARLEY_DATA_DIR: dataDir,
			PARLEY_LOG_LEVEL: 'error',
			PARLEY_CHAT_MESSAGES_PER_SECOND: '10000',
			PARLEY_CHAT_MESSAGES_BURST: '10000',
			// Every participant connects from 127.0.0.1 and sends as fast as it can.
			PARLEY_LIMITS_CONNECTIONS_PER_IP: '100000',
			PARLEY_LIMITS_IP_REQUESTS_PER_SECOND: '1000000',
			PARLEY_LIMITS_IP_REQUESTS_BURST: '1000000',
			PARLEY_LIMITS_REQUESTS_PER_SECOND: '100000',
			PARLEY_LIMITS_REQUESTS_BURST: '100000',
			PARLEY_CHAT_DURABILITY: config.endsWith('disk') ? 'disk' : 'process',
			...(redisUrl ? { PARLEY_REDIS_URL: redisUrl } : {}),
		},
	});
	const url = `http://127.0.0.1:${port}`;
	try {
		await waitHealthy(url, child);
		return await fn(url, child.pid!);
	} finally {
		if (child.exitCode === null) {
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGTERM');
			await exited;
		}
		rmSync(dataDir, { recursive: true, force: true });
	}
}

async function participants(url: string, room: string, onAck: (ms: number) => void) {
	const sockets: ChatSocket[] = [];
	const clients = Array.from({ length: CLIENTS }, (_, i) => {
		const identity = `bot${i}`;
		const socket: ChatSocket = connect(url, {
			auth: { token: mintToken(auth, { room, name: identity, identity }).token },
			transports: ['websocket'],
		});
		sockets.push(socket);
		return new ChatClient({ socket, identity, onAck });
	});
	await Promise.all(sockets.map((s) => new Promise<void>((r) => (s.connected ? r() : s.once('connect', () => r())))));
	await new Promise((r) => setTimeout(r, 300));
	const close = () => {
		for (const c of clients) c.close();
		for (const s of sockets) s.disconnect();
	};
	return { clients, close };
}

async function allReceived(clients: ChatClient[], total: number): Promise<void> {
	while (!clients.every((c) => c.messages.length >= total)) await new Promise((r) => setTimeout(r, 5));
}

async function run(config: Config, redisUrl?: string): Promise<Result> {
	const flood = await withServer(config, redisUrl, async (url, pid) => {
		const ack: number[] = [];
		const { clients, close } = await participants(url, `flood-${Date.now()}`, (ms) => ack.push(ms));
		const cpu0 = cpuSeconds(pid);
		const own0 = process.cpuUsage();
		const t0 = performance.now();
		for (let m = 0; m < PER_CLIENT; m++) for (const c of clients) c.send(`message ${m} from ${c.identity}`);
		await Promise.all(clients.map((c) => drained(c, 5)));
		const total = CLIENTS * PER_CLIENT;
		await allReceived(clients, total);
		const seconds = (performance.now() - t0) / 1000;
		const cpu = cpuSeconds(pid) - cpu0;
		const own = process.cpuUsage(own0);
		close();
		return { total, seconds, cpu, clientsCpu: (own.user + own.system) / 1e6, ackP99: pct(ack, 99) };
	});
	const paced = await withServer(config, redisUrl, async (url) => {
		const ack: number[] = [];
		const { clients, close } = await participants(url, `paced-${Date.now()}`, (ms) => ack.push(ms));
		const total = Math.round(RATE * SECONDS);
		const t0 = performance.now();
		let sent = 0;
		while (sent < total) {
			const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
			for (; sent < due; sent++) clients[sent % CLIENTS]!.send(`paced ${sent}`);
			await new Promise((r) => setTimeout(r, 5));
		}
		await Promise.all(clients.map((c) => drained(c, 5)));
		await allReceived(clients, total);
		close();
		return { ackP50: pct(ack, 50), ackP99: pct(ack, 99) };
	});
	return {
		config,
		clients: CLIENTS,
		messages: flood.total,
		seconds: +flood.seconds.toFixed(2),
		messagesPerSecond: Math.round(flood.total / flood.seconds),
		deliveriesPerSecond: Math.round((flood.total * CLIENTS) / flood.seconds),
		floodAckP99Ms: +flood.ackP99.toFixed(1),
		pacedRate: RATE,
		pacedAckP50Ms: +paced.ackP50.toFixed(1),
		pacedAckP99Ms: +paced.ackP99.toFixed(1),
		serverCpuSeconds: +flood.cpu.toFixed(2),
		messagesPerServerCpuSecond: Math.round(flood.total / flood.cpu),
		clientsCpuSeconds: +flood.clientsCpu.toFixed(2),
		loadAverage1m: +os.loadavg()[0]!.toFixed(2),
	};
}

async function startRedis(fsync: 'everysec' | 'always'): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
	const port = await freePort();
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-redis-'));
	const redis = spawn(
		'redis-server',
		['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--dir', dir],
		{ stdio: 'ignore' },
	);
	const ok = await new Promise<boolean>((resolve) => {
		redis.once('error', () => resolve(false));
		setTimeout(() => resolve(redis.exitCode === null), 300);
	});
	const stop = async () => {
		if (redis.exitCode === null) {
			const exited = new Promise((r) => redis.once('exit', r));
			redis.kill('SIGTERM');
			await exited;
		}
		rmSync(dir, { recursive: true, force: true });
	};
	if (!ok) {
		await stop();
		return undefined;
	}
	return { url: `redis://127.0.0.1:${port}`, stop };
}

const results: Result[] = [];
for (const config of CONFIGS) {
	if (config.startsWith('sqlite')) {
		results.push(await run(config));
		continue;
	}
	const redis = await startRedis(config === 'redis-disk' ? 'always' : 'everysec');
	if (!redis) {
		process.stderr.write(`redis-server not available: ${config} skipped\n`);
		continue;
	}
	try {
		results.push(await run(config, redis.url));
	} finally {
		await redis.stop();
	}
}

console.table(results);
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
	path.join(ROOT, 'bench/results/chat-throughput.json'),
	`${JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2)}\n`,
);
