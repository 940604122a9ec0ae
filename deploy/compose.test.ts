/**
 * compose.yaml cannot run here (no Docker): this keeps it true. Each node's settings (the
 * shared block and its own, with the `${...}` placeholders filled) load through the real
 * config loader; the node ids and HTTP ports are the `server` lines of deploy/haproxy.cfg;
 * the nodes' media ports do not overlap; and Redis's command, run as a real redis-server,
 * has AOF with fsync at every write (what chat.durability=disk needs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configKeys, envName, loadConfig } from '../config/index.ts';
import { freePort } from '../test/ports.ts';


const root = path.join(import.meta.dirname, '..');
const compose = readFileSync(path.join(root, 'compose.yaml'), 'utf8');
const haproxy = readFileSync(path.join(root, 'deploy', 'haproxy.cfg'), 'utf8');
const vars: Record<string, string> = {
	PARLEY_AUTH_JWT_SECRETS: 'a'.repeat(64),
	PARLEY_MEDIA_ANNOUNCED_ADDRESS: '203.0.113.7',
	PARLEY_TURN_SECRET: 'b'.repeat(64),
};

/** `KEY: value` lines indented under the line `header` (a YAML mapping, as this file writes them). */
function block(header: string): Record<string, string> {
	const lines = compose.split('\n');
	const start = lines.findIndex((l) => l.trimEnd() === header);
	assert.ok(start >= 0, `compose.yaml has "${header}"`);
	const indent = /^\s*/.exec(lines[start + 1]!)![0];
	const out: Record<string, string> = {};
	for (const line of lines.slice(start + 1)) {
		if (!line.startsWith(indent) || line.trim() === '') break;
		const m = /^\s*([A-Z_]+):\s*(.*)$/.exec(line);
		if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
	}
	return out;
}

/** Fill ${NAME}, ${NAME:-default} and ${NAME:?message} as compose does. */
function fill(value: string): string {
	return value.replace(/\$\{([A-Z_]+)(?::[-?]([^}]*))?\}/g, (_, name: string, alt: string | undefined) => vars[name] ?? alt ?? '');
}

function nodeEnv(service: string): Record<string, string> {
	const shared = block('x-parley-env: &parley-env');
	const lines = compose.split('\n');
	const at = lines.findIndex((l) => l === `  ${service}:`);
	assert.ok(at >= 0, `compose.yaml has the service ${service}`);
	const own: Record<string, string> = {};
	for (const line of lines.slice(at + 1)) {
		if (/^ {2}\S/.test(line)) break;
		const m = /^ {6}(PARLEY_[A-Z_]+):\s*(.*)$/.exec(line);
		if (m) own[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
	}
	return Object.fromEntries(Object.entries({ ...shared, ...own }).map(([k, v]) => [k, fill(v)]));
}

describe('compose.yaml', () => {
	const nodes = ['node1', 'node2'].map((id) => ({ id, env: nodeEnv(id) }));

	it('names only settings Parley has, and each node\'s settings load', () => {
		const known = new Set(configKeys().map(envName));
		const used = [...compose.matchAll(/\b(PARLEY_[A-Z_]+):/g)].map((m) => m[1]!);
		assert.deepEqual(used.filter((name) => !known.has(name)), []);
		for (const { id, env } of nodes) {
			const config = loadConfig({ env: { ...env, PARLEY_DATA_DIR: os.tmpdir() } });
			assert.equal(config.cluster.nodeId, id);
			assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
			assert.equal(config.media.announcedAddress, vars.PARLEY_MEDIA_ANNOUNCED_ADDRESS);
			assert.deepEqual(config.turn.urls, ['turn:203.0.113.7:3478?transport=udp', 'turn:203.0.113.7:3478?transport=tcp']);
		}
	});

	it('matches deploy/haproxy.cfg (server names are node ids, on their ports) and the nodes\' media ports do not overlap', () => {
		for (const { id, env } of nodes) {
			assert.match(haproxy, new RegExp(`^\\s*server ${id} 127\\.0\\.0\\.1:${env.PARLEY_HTTP_PORT} `, 'm'), `haproxy has server ${id} on ${env.PARLEY_HTTP_PORT}`);
			assert.match(haproxy, new RegExp(`^\\s*use-server ${id} if \\{ urlp\\(node\\) -m str ${id} \\}`, 'm'));
		}
		const ranges = nodes.map(({ env }) => [Number(env.PARLEY_MEDIA_BASE_PORT), Number(env.PARLEY_MEDIA_BASE_PORT) + Number(env.PARLEY_MEDIA_WORKERS) - 1] as const);
		assert.ok(ranges[0]![1] < ranges[1]![0], `media ports ${JSON.stringify(ranges)}`);
		assert.match(haproxy, /^\s*bind :3000$/m, 'haproxy listens where compose.yaml says people go');
	});

	it('runs Redis with AOF and fsync at every write (replayed with a real redis-server)', async () => {
		const m = /command: \["redis-server", (.*)\]/.exec(compose);
		assert.ok(m, 'redis command');
		const args = JSON.parse(`[${m[1]}]`) as string[];
		const port = await freePort();
		const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-compose-redis-'));
		const replay = args.map((a, i) => (args[i - 1] === '--port' ? String(port) : args[i - 1] === '--dir' ? dir : a));
		const child = spawn('redis-server', replay, { stdio: 'ignore' });
		const client = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: (n) => (n > 50 ? null : 100) });
		client.on('error', () => undefined); // refused until redis-server listens: ioredis retries
		try {
			assert.equal(await client.ping(), 'PONG');
			assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
			assert.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'always']);
		} finally {
			client.disconnect();
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGTERM');
			await exited;
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
