/**
 * The messaging promise across `kill -9` of the Parley process itself: a real
 * `node signaling/main.ts` (SQLite with `chat.durability` disk, the default, and a third kill
 * under `process`; then Redis with AOF `appendfsync always`), three real ChatClients (the
 * browser's outbox) in one room sending 300 paced messages, the server SIGKILLed mid-stream
 * while sends are in flight and started again on the same port and data. Clients reconnect
 * and resend by themselves.
 *
 * At each kill, with the server dead, the store itself is read: every message a client had
 * been acknowledged is there exactly once (seqs without a gap), and every receipt a sender
 * was shown is there too. At the end: every message stored exactly once (the in-flight ones
 * included, after their retries), every client holds the store's history in seq order,
 * nobody's outbox holds anything, receipts never went backwards and end equal to the store's.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it, type TestContext } from 'node:test';
import { io as connect } from 'socket.io-client';
import { ChatClient, type ChatSocket } from '../client/src/chat/ChatClient.ts';
import { mintToken } from './auth/tokens.ts';
import { RedisMessageStore, SQLITE_FILE_NAME, SqliteMessageStore, type MessageStore, type StoredMessage } from './chat/index.ts';
import { startParley as startServer, type ParleyServer } from '../bench/lib/parleyServer.ts';
import { assertReceiptsMatchStore } from '../test/receipts.ts';
import { startRedisWith } from '../test/redis.ts';
import { freePort, randomMediaPort } from '../test/ports.ts';

const PEOPLE = ['ada', 'bea', 'cyd'];
const ROOM = 'kill';
const TOTAL = 300;
/** One message every PACE_MS, round robin over the three senders. */
const PACE_MS = 12;
/** Kill when this many messages were written (and one is in flight): 1/4 and 3/5 of the way. */
const KILL_AFTER = [75, 180] as const;
/** The last messages are written only after both kills (so both kills land mid-stream). */
const AFTER_KILLS = 30;
const SECRET = 'kill-test-secret-0123456789abcdef0123456789';
const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600, maxTokenLifetimeSeconds: 86400 };

interface Backend {
	name: string;
	/** When to kill (messages written); each kill also waits for 30 more acknowledgements than the last. */
	killAfter: readonly number[];
	env: Record<string, string>;
	/** A handle on the server's store, from the test process. */
	withStore<T>(fn: (store: MessageStore) => Promise<T>): Promise<T>;
	/** Restart the server after kill n (default: just start it). */
	restart?: (n: number, start: (env?: Record<string, string>) => Promise<ParleyServer>, port: number) => Promise<ParleyServer>;
}

interface KillRecord {
	sent: number;
	acked: number;
	inFlight: string[];
	queued: number;
	inFlightStoredAtKill: number;
	downMs: number;
	reconnectMs: number;
}

/** Every message of the room, in seq order (all are room messages: visible to anyone). */
async function storedMessages(store: MessageStore): Promise<StoredMessage[]> {
	const all: StoredMessage[] = [];
	for (;;) {
		const page = await store.after(ROOM, PEOPLE[0]!, all.at(-1)?.seq ?? 0, 500);
		if (page.length === 0) return all;
		all.push(...page);
	}
}

/** Resolves once the server answers /healthz (it listens), or rejects if it fails to start. */
async function listening(port: number, starting: Promise<unknown>): Promise<void> {
	let failed: unknown;
	starting.catch((error: unknown) => (failed = error));
	for (;;) {
		if (failed) throw failed;
		try {
			if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
		} catch {
			// not yet
		}
		await new Promise((r) => setTimeout(r, 50));
	}
}

/** Messages stored more than once (by id, or by text: every text written is unique). */
function duplicates(stored: StoredMessage[]): string[] {
	const seen = new Set<string>();
	return stored.flatMap((m) => [m.id, m.text]).filter((key) => seen.has(key) || !seen.add(key));
}

/** Each message stored exactly once, seqs 1..n without a gap. */
function checkStored(stored: StoredMessage[], when: string): void {
	assert.deepEqual(
		stored.map((m) => m.seq),
		Array.from({ length: stored.length }, (_, i) => i + 1),
		`${when}: seqs 1..${stored.length} without a gap`,
	);
	assert.deepEqual(duplicates(stored), [], `${when}: no message stored twice`);
}

/** The real server process on this port and data folder (started again on both after a kill). */
function startParley(port: number, env: Record<string, string>): Promise<ParleyServer> {
	const { PARLEY_DATA_DIR: dataDir, ...rest } = env;
	return startServer({ httpPort: port, mediaPort: randomMediaPort(), ...(dataDir ? { dataDir } : {}), env: rest });
}

async function runKillCase(t: TestContext, backend: Backend): Promise<void> {
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const env = { PARLEY_AUTH_JWT_SECRETS: SECRET, PARLEY_CHAT_MESSAGES_PER_SECOND: '10000', PARLEY_CHAT_MESSAGES_BURST: '10000', ...backend.env };
	let server: ParleyServer = await startParley(port, env);
	const epoch = await backend.withStore((s) => s.epoch());

	// Anything that may satisfy a wait (a chat change, a connect) re-checks the waits.
	const waits = new Set<() => void>();
	const poke = (): void => {
		for (const check of [...waits]) check();
	};
	const until = (what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> =>
		new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				waits.delete(test);
				reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`));
			}, timeoutMs);
			const test = (): void => {
				if (!check()) return;
				clearTimeout(timer);
				waits.delete(test);
				resolve();
			};
			waits.add(test);
			test();
		});

	const sockets: ChatSocket[] = [];
	/** Sent ids not yet acknowledged, per sender; and when each was acknowledged. */
	const unacked = new Map<string, Set<string>>(PEOPLE.map((p) => [p, new Set()]));
	const acked = new Map<string, number>();
	const sent = new Map<string, string[]>(PEOPLE.map((p) => [p, []]));
	let sentCount = 0;
	const clients = PEOPLE.map((identity) => {
		const socket: ChatSocket = connect(url, {
			auth: { token: mintToken(auth, { room: ROOM, identity, name: identity.toUpperCase() }).token },
			transports: ['websocket'],
			reconnectionDelay: 50,
			reconnectionDelayMax: 250,
			forceNew: true,
		});
		sockets.push(socket);
		socket.on('connect', poke);
		socket.on('disconnect', poke);
		let n = 0;
		const client = new ChatClient({
			socket,
			identity,
			ackTimeoutMs: 2000,
			retryDelayMs: 50,
			maxRetryDelayMs: 500,
			newId: () => `${identity}-${String(n++).padStart(5, '0')}`,
		});
		// Acknowledged: the server told the sender it is stored at a seq (the ack, or a sync after
		// the ack was lost): it is in the sender's history.
		client.subscribe(() => {
			const waiting = unacked.get(identity)!;
			if (waiting.size > 0) {
				for (const m of client.messages) {
					if (m.from !== identity || !waiting.delete(m.id)) continue;
					acked.set(m.id, performance.now());
				}
			}
			poke();
		});
		return client;
	});
	const connected = (): boolean => sockets.every((s) => s.connected);
	const inFlight = (): string[] => clients.flatMap((c) => c.outbox.filter((m) => m.state === 'sending').map((m) => m.id));

	// Receipts only go up: what each sender is shown per own message (deliveredTo + readBy), and read watermarks.
	const shownReceipts = new Map<string, number>();
	const backwards: string[] = [];
	const checkReceipts = (): void => {
		for (const c of clients) {
			for (const m of c.messages) {
				const r = c.receipt(m.seq);
				if (!r) continue;
				const now = r.deliveredTo.length + r.readBy.length;
				const before = shownReceipts.get(m.id) ?? 0;
				if (now < before) backwards.push(`${c.identity} seq ${m.seq}: ${before} → ${now}`);
				else shownReceipts.set(m.id, now);
			}
			for (const [who, upTo] of c.readWatermarks) {
				const key = `${c.identity}>${who}`;
				const before = shownReceipts.get(key) ?? 0;
				if (upTo < before) backwards.push(`${c.identity} sees ${who} read up to ${before} → ${upTo}`);
				else shownReceipts.set(key, upTo);
			}
		}
	};
	// Each participant reads what is on screen every 100 ms (as the chat panel does); receipts are checked as often.
	let reading = true;
	const readers = clients.map(async (c) => {
		while (reading) {
			await c.markRead();
			if (c === clients[0]) checkReceipts();
			await new Promise((r) => setTimeout(r, 100));
		}
	});

	const kills: KillRecord[] = [];
	const killAndRestart = async (minSent: number, minAcked: number): Promise<void> => {
		await until(`${minSent} sent, ${minAcked} acknowledged, a send in flight`, () => connected() && sentCount >= minSent && acked.size >= minAcked && inFlight().length > 0);
		// In the same turn: what was acknowledged, in flight and shown, then the kill.
		const ackedNow = [...acked.keys()];
		const flying = inFlight();
		const queued = clients.reduce((n, c) => n + c.outbox.length, 0) - flying.length;
		checkReceipts();
		const shown = clients.map((c) => ({ identity: c.identity, receipts: c.messages.flatMap((m) => c.receipt(m.seq) ?? []) }));
		const down = performance.now();
		await server.kill();

		// The server is dead: read its store (each sender has at most TOTAL / 3 < receiptsMax own messages).
		const { stored, receipts } = await backend.withStore(async (store) => ({
			stored: await storedMessages(store),
			receipts: await Promise.all(shown.map(async (s) => (s.receipts.length ? store.receipts(ROOM, s.receipts.map((r) => r.seq)) : []))),
		}));
		const when = `after kill ${kills.length + 1}`;
		checkStored(stored, when);
		const storedIds = new Set(stored.map((m) => m.id));
		const lost = ackedNow.filter((id) => !storedIds.has(id));
		assert.deepEqual(lost, [], `${when}: every acknowledged message is in the store (${lost.length} of ${ackedNow.length} missing)`);
		shown.forEach((s, i) => {
			const inStore = new Map(receipts[i]!.map((r) => [r.seq, r]));
			for (const r of s.receipts) {
				const kept = inStore.get(r.seq);
				const missing = [...r.deliveredTo.filter((w) => !kept?.deliveredTo.includes(w)), ...r.readBy.filter((w) => !kept?.readBy.includes(w))];
				assert.deepEqual(missing, [], `${when}: ${s.identity} was shown receipts of seq ${r.seq} that the store lost`);
			}
		});

		const start = (more: Record<string, string> = {}): Promise<ParleyServer> => startParley(port, { ...env, ...more });
		server = await (backend.restart ? backend.restart(kills.length + 1, start, port) : start());
		const up = performance.now();
		await until('every client reconnected', connected);
		kills.push({
			sent: sentCount,
			acked: ackedNow.length,
			inFlight: flying,
			queued,
			inFlightStoredAtKill: flying.filter((id) => storedIds.has(id)).length,
			downMs: Math.round(up - down),
			reconnectMs: Math.round(performance.now() - up),
		});
	};

	const started = performance.now();
	try {
		await until('every client connected', connected);
		const killer = (async () => {
			// 30 more acknowledgements than at the last kill, but never more than the kill point's
			// sends: after a slow restart the sender may be that far already, and it stops at
			// TOTAL - AFTER_KILLS until the kills are done (no send would be left in flight to kill).
			for (const minSent of backend.killAfter) await killAndRestart(minSent, Math.min(acked.size + 30, minSent));
		})();
		const sender = (async () => {
			for (let i = 0; i < TOTAL; i++) {
				if (i === TOTAL - AFTER_KILLS) await killer.catch(() => {});
				const c = clients[i % PEOPLE.length]!;
				const id = c.send(`message ${i} from ${c.identity}`);
				sent.get(c.identity)!.push(id);
				unacked.get(c.identity)!.add(id);
				sentCount++;
				await new Promise((r) => setTimeout(r, PACE_MS));
			}
		})();
		await Promise.all([killer, sender]);
		await until('every outbox empty', () => clients.every((c) => c.outbox.length === 0), 30_000);
		await until(`every client holds ${TOTAL} messages`, () => clients.every((c) => c.messages.length >= TOTAL), 30_000);
		reading = false;
		await Promise.all(readers);
		checkReceipts();
		const seconds = (performance.now() - started) / 1000;

		const stored = await backend.withStore(storedMessages);
		const allSent = [...sent.values()].flat();
		const count = new Map<string, number>();
		for (const m of stored) count.set(m.id, (count.get(m.id) ?? 0) + 1);
		const lost = allSent.filter((id) => !count.has(id));
		const duplicated = duplicates(stored).length;
		checkStored(stored, 'at the end');
		assert.deepEqual(lost, [], 'every message written is stored (none lost)');
		assert.equal(stored.length, TOTAL, 'stored exactly once each, nothing else');
		for (const k of kills) {
			for (const id of k.inFlight) assert.equal(count.get(id), 1, `${id}, in flight at a kill, stored once after its retries`);
		}
		const reference = stored.map((m) => `${m.seq}:${m.id}`);
		for (const c of clients) {
			assert.deepEqual(c.messages.map((m) => `${m.seq}:${m.id}`), reference, `${c.identity}: every message exactly once, in seq order`);
			assert.equal(c.epoch, epoch, `${c.identity}: same store epoch throughout`);
			assert.deepEqual(stored.filter((m) => m.from === c.identity).map((m) => m.id), sent.get(c.identity), `${c.identity}: in the order written`);
		}
		assert.equal(acked.size, TOTAL, 'every message acknowledged to its sender');

		// Receipts: never went backwards on anyone's screen, and end as the store has them.
		assert.deepEqual(backwards, [], 'receipts never go backwards');
		await until('every client connected', connected);
		for (const c of clients) await c.markRead();
		const read = await backend.withStore((store) => assertReceiptsMatchStore(clients, store, ROOM, 'read'));

		const summary =
			`chat-kill ${backend.name}: sent ${allSent.length}, acked ${acked.size}, stored ${stored.length}, lost ${lost.length}, duplicated ${duplicated}, ` +
			`kills ${kills.length} (in flight ${kills.map((k) => `${k.inFlight.length} [${k.inFlightStoredAtKill} already stored]`).join(', ')}; ` +
			`queued ${kills.map((k) => k.queued).join(', ')}), down ${kills.map((k) => k.downMs).join(', ')} ms, ` +
			`reconnect ${kills.map((k) => k.reconnectMs).join(', ')} ms, receipts ${read.shownComplete}/${read.messages} read by all, ${seconds.toFixed(1)} s`;
		t.diagnostic(summary);
	} catch (error) {
		t.diagnostic(`server output:\n${server.output()}`);
		throw error;
	} finally {
		reading = false;
		for (const c of clients) c.close();
		for (const s of sockets) s.disconnect();
		await server.kill();
		await Promise.allSettled(readers);
	}
}

it('chat across kill -9 of the server, SQLite (durability disk: the default, then process)', { timeout: 90_000 }, async (t) => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-kill-'));
	try {
		await runKillCase(t, {
			name: 'sqlite, durability disk (kills 1-2) then process (kill 3)',
			killAfter: [...KILL_AFTER, 235],
			env: { PARLEY_DATA_DIR: dataDir },
			withStore: async (fn) => {
				const store = new SqliteMessageStore(path.join(dataDir, SQLITE_FILE_NAME));
				try {
					return await fn(store);
				} finally {
					await store.close();
				}
			},
			// `process` (synchronous=NORMAL, WAL): a commit is in the OS's page cache before the ack,
			// so a crash of Parley alone loses nothing either (a power cut may): the third kill.
			restart: (n, start) => start(n === 2 ? { PARLEY_CHAT_DURABILITY: 'process' } : {}),
		});
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
});

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
it(
	'chat across kill -9 of the server, Redis with AOF always (durability disk)',
	{ timeout: 90_000, skip: hasRedis ? false : 'redis-server is not installed (npm run setup installs it)' },
	async (t) => {
		const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-kill-'));
		const redisDir = mkdtempSync(path.join(os.tmpdir(), 'parley-kill-redis-'));
		let redis: ChildProcess | undefined;
		let store: RedisMessageStore | undefined;
		try {
			const { child, port } = await startRedisWith(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir]);
			redis = child;
			const url = `redis://127.0.0.1:${port}`;
			const shared = (store = new RedisMessageStore({ url, durability: 'disk' }));
			await runKillCase(t, {
				name: 'redis with AOF always, durability disk',
				killAfter: KILL_AFTER,
				env: { PARLEY_DATA_DIR: dataDir, PARLEY_REDIS_URL: url, PARLEY_CHAT_DURABILITY: 'disk' },
				withStore: (fn) => fn(shared),
				// The second restart with Redis paused until the server listens, and 300 ms more: clients
				// reconnecting before the cluster registry has started wait for it (they crashed the server).
				restart: async (n, start, parleyPort) => {
					if (n !== 2) return start();
					child.kill('SIGSTOP');
					const starting = start();
					starting.catch(() => {});
					try {
						await listening(parleyPort, starting);
						await new Promise((r) => setTimeout(r, 300));
					} finally {
						child.kill('SIGCONT');
					}
					return starting;
				},
				});
		} finally {
			await store?.close();
			if (redis && redis.exitCode === null && redis.signalCode === null) {
				const exited = once(redis, 'exit');
				redis.kill('SIGKILL');
				await exited;
			}
			rmSync(dataDir, { recursive: true, force: true });
			rmSync(redisDir, { recursive: true, force: true });
		}
	},
);
