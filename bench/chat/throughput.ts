/**
 * Message throughput of one Parley node, SQLite (embedded default) and Redis side by side
 * in one run: a real server process, N participants sending concurrently through the
 * real ChatClient (acknowledged, in order), everyone receiving everything.
 *
 *   node bench/chat/throughput.ts [--clients 20] [--messages 200]
 *
 * Prints a table and writes bench/results/chat-throughput.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { io as connect } from 'socket.io-client';
import { ChatClient, type ChatSocket } from '../../client/src/chat/ChatClient.ts';
import { mintToken } from '../../signaling/auth/tokens.ts';

const { values } = parseArgs({
	options: { clients: { type: 'string', default: '20' }, messages: { type: 'string', default: '200' } },
});
const CLIENTS = Number(values.clients);
const PER_CLIENT = Number(values.messages);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600 };

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = createServer().listen(0, '127.0.0.1', () => {
			const { port } = s.address() as { port: number };
			s.close(() => resolve(port));
		});
		s.on('error', reject);
	});
}

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
	store: string;
	clients: number;
	messages: number;
	seconds: number;
	messagesPerSecond: number;
	deliveriesPerSecond: number;
	ackP50Ms: number;
	ackP99Ms: number;
	serverCpuSeconds: number;
}

function cpuSeconds(pid: number): number {
	// utime + stime from /proc/<pid>/stat, in clock ticks (100 Hz on Linux).
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function run(store: 'sqlite' | 'redis', redisUrl?: string): Promise<Result> {
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
			PARLEY_LOG_LEVEL: 'warn',
			PARLEY_CHAT_MESSAGES_PER_SECOND: '10000',
			PARLEY_CHAT_MESSAGES_BURST: '10000',
			...(redisUrl ? { PARLEY_REDIS_URL: redisUrl } : {}),
		},
	});
	const url = `http://127.0.0.1:${port}`;
	const room = `bench-${store}-${Date.now()}`;
	try {
		await waitHealthy(url, child);
		const ack: number[] = [];
		const sockets: ChatSocket[] = [];
		const clients = Array.from({ length: CLIENTS }, (_, i) => {
			const identity = `bot${i}`;
			const socket: ChatSocket = connect(url, {
				auth: { token: mintToken(auth, { room, name: identity, identity }).token },
				transports: ['websocket'],
			});
			sockets.push(socket);
			return new ChatClient({ socket, identity, onAck: (ms) => ack.push(ms) });
		});
		await Promise.all(sockets.map((s) => new Promise<void>((r) => (s.connected ? r() : s.once('connect', () => r())))));
		await new Promise((r) => setTimeout(r, 300));
		const cpu0 = cpuSeconds(child.pid!);
		const t0 = performance.now();
		for (let m = 0; m < PER_CLIENT; m++) for (const c of clients) c.send(`message ${m} from ${c.identity}`);
		await Promise.all(clients.map((c) => c.drained(5)));
		const total = CLIENTS * PER_CLIENT;
		while (!clients.every((c) => c.messages.length >= total)) await new Promise((r) => setTimeout(r, 5));
		const seconds = (performance.now() - t0) / 1000;
		const cpu = cpuSeconds(child.pid!) - cpu0;
		for (const c of clients) c.close();
		for (const s of sockets) s.disconnect();
		return {
			store,
			clients: CLIENTS,
			messages: total,
			seconds: +seconds.toFixed(2),
			messagesPerSecond: Math.round(total / seconds),
			deliveriesPerSecond: Math.round((total * CLIENTS) / seconds),
			ackP50Ms: +pct(ack, 50).toFixed(1),
			ackP99Ms: +pct(ack, 99).toFixed(1),
			serverCpuSeconds: +cpu.toFixed(2),
		};
	} finally {
		if (child.exitCode === null) {
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGTERM');
			await exited;
		}
		rmSync(dataDir, { recursive: true, force: true });
	}
}

async function startRedis(): Promise<{ url: string; stop: () => void } | undefined> {
	const port = await freePort();
	const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
		stdio: 'ignore',
	});
	const ok = await new Promise<boolean>((resolve) => {
		redis.once('error', () => resolve(false));
		setTimeout(() => resolve(redis.exitCode === null), 300);
	});
	if (!ok) return undefined;
	return { url: `redis://127.0.0.1:${port}`, stop: () => redis.kill('SIGTERM') };
}

const results: Result[] = [await run('sqlite')];
const redis = await startRedis();
if (redis) {
	try {
		results.push(await run('redis', redis.url));
	} finally {
		redis.stop();
	}
} else process.stderr.write('redis-server not available: Redis row skipped\n');

console.table(results);
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench/results/chat-throughput.json'), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
