/**
 * The messaging promise when the store itself fails, with a real redis-server:
 *  1. Redis is killed (-9) mid-run and started again (AOF, appendfsync always): clients get
 *     `unavailable`, keep their outbox, retry with backoff; nothing lost, nothing doubled,
 *     and every sender's receipts end equal to the store's (all delivered, all read).
 *  2. Redis comes back empty (a new data folder): the new epoch is detected and every
 *     client resyncs from scratch, so messages acknowledged after the loss are shown to all.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { io as connect } from 'socket.io-client';
import { ChatClient, type ChatSocket, type ChatStatus } from '../client/src/chat/ChatClient.ts';
import { RedisMessageStore } from './chat/index.ts';
import { startTestServer } from '../test/harness.ts';
import { assertReceiptsMatchStore } from '../test/receipts.ts';
import { drained } from '../test/chat.ts';
import { freePort } from '../test/ports.ts';

const PEOPLE = ['ada', 'bea', 'cyd'];
const ROOM = 'faults';


function startRedis(port: number, dir: string): Promise<ChildProcess> {
	return new Promise((resolve, reject) => {
		const child = spawn(
			'redis-server',
			['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		let output = '';
		const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${output}`)), 5000);
		const onData = (chunk: Buffer): void => {
			output += chunk.toString();
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve(child);
			}
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited (${code}):\n${output}`));
		});
	});
}

function kill9(child: ChildProcess): Promise<void> {
	return new Promise((resolve) => {
		if (child.exitCode !== null || child.signalCode !== null) return resolve();
		child.once('exit', () => resolve());
		child.kill('SIGKILL');
	});
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

it('Redis killed and restarted mid-run: unavailable, retried, nothing lost; restarted empty: resynced', { timeout: 90_000 }, async (t) => {
	const port = await freePort();
	const dirs = [mkdtempSync(path.join(os.tmpdir(), 'parley-faults-redis-'))];
	let redis = await startRedis(port, dirs[0]!);
	const store = new RedisMessageStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 500, readyWaitMs: 300, durability: 'disk' });
	const env = { PARLEY_CHAT_MESSAGES_PER_SECOND: '10000', PARLEY_CHAT_MESSAGES_BURST: '10000' };
	const server = await startTestServer({ env, messages: store });
	const sockets: ChatSocket[] = [];
	const statuses = new Map<string, Set<ChatStatus>>();
	const clients = PEOPLE.map((identity) => {
		const socket: ChatSocket = connect(server.url, {
			auth: { token: server.token({ room: ROOM, identity }) },
			transports: ['websocket'],
			reconnectionDelay: 20,
			reconnectionDelayMax: 200,
		});
		sockets.push(socket);
		const client = new ChatClient({ socket, identity, ackTimeoutMs: 1500, retryDelayMs: 20, maxRetryDelayMs: 300 });
		const seen = new Set<ChatStatus>();
		statuses.set(identity, seen);
		client.subscribe(() => seen.add(client.status));
		return client;
	});
	try {
		await until('connected', () => sockets.every((s) => s.connected));
		const epoch = await store.epoch();
		const TOTAL = 300;
		const sent = new Map<string, string[]>(PEOPLE.map((p) => [p, []]));
		let outageMs = 0;
		for (let i = 0; i < TOTAL; i++) {
			const who = i % PEOPLE.length;
			sent.get(PEOPLE[who]!)!.push(clients[who]!.send(`message ${i}`));
			if (i === 100) {
				const down = performance.now();
				await kill9(redis);
				await new Promise((r) => setTimeout(r, 800));
				outageMs = performance.now() - down;
			}
			if (i === 150) redis = await startRedis(port, dirs[0]!);
			if (i % 10 === 0) await new Promise((r) => setTimeout(r, 10));
		}
		await Promise.all(clients.map((c) => drained(c, 10)));
		await until('everyone has everything', () => clients.every((c) => c.messages.length >= TOTAL));

		const reference = clients[0]!.messages.map((m) => `${m.seq}:${m.id}`);
		for (const c of clients) {
			const ids = c.messages.map((m) => m.id);
			assert.equal(new Set(ids).size, ids.length, `${c.identity}: no duplicates`);
			assert.equal(ids.length, TOTAL, `${c.identity}: nothing lost`);
			assert.deepEqual(c.messages.map((m) => `${m.seq}:${m.id}`), reference, `${c.identity}: same history`);
			assert.equal(c.epoch, epoch, 'AOF kept the data: same epoch');
		}
		for (const [identity, ids] of sent) {
			assert.deepEqual(clients[0]!.messages.filter((m) => m.from === identity).map((m) => m.id), ids, `${identity}: in order`);
		}
		assert.equal(await store.lastSeq(ROOM), TOTAL, 'stored exactly once each');
		const sawUnavailable = [...statuses].filter(([, s]) => s.has('unavailable')).map(([who]) => who);
		assert.ok(sawUnavailable.length > 0, 'clients were told the store was unavailable');
		assert.ok(clients.every((c) => c.status === 'online'), 'and recovered by themselves');

		// Delivered (queues survived the outage), then everyone reads everything: each
		// sender's ticks end equal to the store's receipts.
		const delivered = await assertReceiptsMatchStore(clients, store, ROOM, 'delivered');
		for (const c of clients) await c.markRead();
		const read = await assertReceiptsMatchStore(clients, store, ROOM, 'read');
		const counts = { delivered, read };

		// Phase 2: Redis comes back empty.
		await kill9(redis);
		dirs.push(mkdtempSync(path.join(os.tmpdir(), 'parley-faults-redis-')));
		redis = await startRedis(port, dirs[1]!);
		const after: string[] = [];
		for (let i = 0; i < 30; i++) after.push(clients[i % PEOPLE.length]!.send(`after the reset ${i}`));
		await Promise.all(clients.map((c) => drained(c, 10)));
		const newEpoch = await store.epoch();
		assert.notEqual(newEpoch, epoch, 'an empty store has a new epoch');
		await until('everyone resynced to the new epoch', () => clients.every((c) => c.epoch === newEpoch && c.messages.length === 30));
		for (const c of clients) {
			assert.deepEqual(
				c.messages.map((m) => m.id).sort(),
				[...after].sort(),
				`${c.identity}: shows exactly what the new store holds (acknowledged after the loss), its own messages included`,
			);
		}
		t.diagnostic(
			`faults ${JSON.stringify({ messages: TOTAL, lost: 0, duplicated: 0, outageMs: Math.round(outageMs), sawUnavailable, receipts: counts, afterReset: 30 })}`,
		);
	} finally {
		for (const c of clients) c.close();
		for (const s of sockets) s.disconnect();
		await server.close();
		await store.close();
		await kill9(redis);
		for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
	}
});
