/**
 * The messaging promise under stress: 1,000 messages among 3 participants while their
 * connections are dropped at random and the server is restarted once (same SQLite
 * file). Every participant must end with the same ordered history: nothing lost,
 * nothing doubled, each sender's messages in the order they were written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { io as connect } from 'socket.io-client';
import { ChatClient, type ChatSocket } from '../client/src/chat/ChatClient.ts';
import { startTestServer, type TestServer } from '../test/harness.ts';
import { assertReceiptsMatchStore } from '../test/receipts.ts';
import { drained } from '../test/chat.ts';

const TOTAL = Number(process.env.PARLEY_TEST_RELIABILITY_MESSAGES ?? 1000);
const PEOPLE = ['ada', 'bea', 'cyd'];

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

it(`${TOTAL} messages, random drops and a server restart: none lost, none duplicated`, { timeout: 120_000 }, async (t) => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-reliability-'));
	const env = { PARLEY_CHAT_MESSAGES_PER_SECOND: '10000', PARLEY_CHAT_MESSAGES_BURST: '10000' };
	let server: TestServer = await startTestServer({ env, dataDir });
	const port = Number(new URL(server.url).port);
	const ackMs: number[] = [];
	const sockets: ChatSocket[] = [];
	const clients = PEOPLE.map((identity) => {
		const socket: ChatSocket = connect(server.url, {
			auth: { token: server.token({ room: 'reliable', identity }) },
			transports: ['websocket'],
			reconnectionDelay: 20,
			reconnectionDelayMax: 200,
			randomizationFactor: 0,
		});
		sockets.push(socket);
		return new ChatClient({ socket, identity, ackTimeoutMs: 1500, retryDelayMs: 20, onAck: (ms) => ackMs.push(ms) });
	});
	const sent = new Map<string, string[]>(PEOPLE.map((p) => [p, []]));
	let drops = 0;
	let restarts = 0;
	const started = performance.now();
	try {
		// Random connection drops while sending.
		let dropping = true;
		const dropper = (async () => {
			while (dropping) {
				await new Promise((r) => setTimeout(r, 20 + Math.random() * 40));
				const socket = sockets[Math.floor(Math.random() * sockets.length)]!;
				if (socket.connected) {
					socket.io.engine.close();
					drops++;
				}
			}
		})();

		for (let i = 0; i < TOTAL; i++) {
			const who = i % PEOPLE.length;
			const text = `message ${i} from ${PEOPLE[who]}`;
			sent.get(PEOPLE[who]!)!.push(clients[who]!.send(text));
			if (i === Math.floor(TOTAL / 2)) {
				// Restart the server on the same port and data: clients reconnect by themselves.
				await server.close();
				server = await startTestServer({ env, dataDir, port });
				restarts++;
			}
			if (i % 10 === 0) await new Promise((r) => setTimeout(r, 15)); // spread over ~2 s so drops land mid-stream
		}
		await Promise.all(clients.map((c) => drained(c)));
		dropping = false;
		await dropper;
		// Let the last broadcasts and resyncs land.
		const deadline = Date.now() + 15_000;
		while (Date.now() < deadline && !clients.every((c) => c.messages.length >= TOTAL)) {
			await new Promise((r) => setTimeout(r, 100));
		}
		const elapsed = (performance.now() - started) / 1000;

		const reference = clients[0]!.messages.map((m) => `${m.seq}:${m.id}`);
		for (const client of clients) {
			const ids = client.messages.map((m) => m.id);
			assert.equal(new Set(ids).size, ids.length, `${client.identity}: no duplicates`);
			assert.equal(ids.length, TOTAL, `${client.identity}: has all ${TOTAL} messages (has ${ids.length})`);
			assert.deepEqual(client.messages.map((m) => `${m.seq}:${m.id}`), reference, `${client.identity}: same history`);
			assert.equal(client.outbox.length, 0, 'nothing left unsent');
		}
		assert.deepEqual(reference.map((r) => Number(r.split(':')[0])), Array.from({ length: TOTAL }, (_, i) => i + 1), 'seqs 1..N');
		for (const [identity, ids] of sent) {
			const order = clients[0]!.messages.filter((m) => m.from === identity).map((m) => m.id);
			assert.deepEqual(order, ids, `${identity}'s messages keep the order they were written in`);
		}
		assert.ok(drops >= 10, `connections were really dropped (${drops})`);
		assert.equal(await server.messages.lastSeq('reliable'), TOTAL, 'stored exactly once each');

		// Receipts after the faults: every delivery was recorded (the delivered queues survived
		// the drops) and each sender shows what the store has; then everyone reads everything.
		while (!sockets.every((s) => s.connected)) await new Promise((r) => setTimeout(r, 20));
		const delivered = await assertReceiptsMatchStore(clients, server.messages, 'reliable', 'delivered');
		for (const client of clients) await client.markRead();
		const read = await assertReceiptsMatchStore(clients, server.messages, 'reliable', 'read');

		const figures = {
			messages: TOTAL,
			clients: PEOPLE.length,
			drops,
			restarts,
			lost: 0,
			duplicated: 0,
			receipts: { delivered, read },
			ackP50Ms: +percentile(ackMs, 50).toFixed(2),
			ackP99Ms: +percentile(ackMs, 99).toFixed(2),
			seconds: +elapsed.toFixed(2),
		};
		t.diagnostic(`reliability ${JSON.stringify(figures)}`);
	} finally {
		for (const c of clients) c.close();
		for (const s of sockets) s.disconnect();
		await server.close();
		rmSync(dataDir, { recursive: true, force: true });
	}
});
