/**
 * Webhooks against a real HTTP receiver that verifies every signature and fails on purpose
 * for a while (first not listening at all, then answering 503): every event type arrives,
 * nothing is lost, a retry carries the same id. The queue survives a restart (SQLite and Redis).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { joinRoom, ok, startTestServer, syntheticRtpParameters } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import {
	RedisWebhookQueue,
	SqliteWebhookQueue,
	WebhookDispatcher,
	WebhookEventType,
	signWebhook,
	verifyWebhook,
	type WebhookEvent,
	type WebhookQueue,
} from './index.ts';
import { freePort } from '../../test/ports.ts';

const SECRET = 'webhook-secret-0123456789abcdef0123456789';

/** A receiver on a fixed port that can be down (not listening) or failing (503) on purpose. */
class Receiver {
	readonly port: number;
	readonly bodiesById = new Map<string, string[]>();
	readonly unsigned: string[] = [];
	failNext = 0;
	requests = 0;
	#server: Server | null = null;

	constructor(port: number) {
		this.port = port;
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}/hook`;
	}

	get events(): WebhookEvent[] {
		return [...this.bodiesById.values()].map((b) => JSON.parse(b[0]!) as WebhookEvent);
	}

	up(): Promise<void> {
		this.#server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				this.requests++;
				if (this.failNext > 0) {
					this.failNext--;
					res.writeHead(503).end();
					return;
				}
				const body = Buffer.concat(chunks).toString('utf8');
				if (!verifyWebhook(SECRET, req.headers['parley-signature'] as string | undefined, body)) {
					this.unsigned.push(body);
					res.writeHead(401).end();
					return;
				}
				const id = req.headers['parley-event-id'] as string;
				assert.equal((JSON.parse(body) as WebhookEvent).id, id, 'the id header is the body id');
				this.bodiesById.set(id, [...(this.bodiesById.get(id) ?? []), body]);
				res.writeHead(204).end();
			});
		});
		return new Promise((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
	}

	async down(): Promise<void> {
		const server = this.#server;
		this.#server = null;
		if (!server) return;
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	}
}


async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const end = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

describe('webhook signatures', () => {
	it('verify the body and timestamp they were made for, nothing else', () => {
		const body = '{"id":"evt_1"}';
		const header = signWebhook(SECRET, body);
		assert.equal(verifyWebhook(SECRET, header, body), true);
		assert.equal(verifyWebhook(SECRET, header, '{"id":"evt_2"}'), false, 'tampered body');
		assert.equal(verifyWebhook('another-secret-0123456789abcdef012345', header, body), false, 'wrong secret');
		assert.equal(verifyWebhook(SECRET, signWebhook(SECRET, body, Date.now() - 600_000), body), false, 'replayed after the window');
		assert.equal(verifyWebhook(SECRET, 'garbage', body), false);
		assert.equal(verifyWebhook(SECRET, undefined, body), false);
	});
});

describe('webhook delivery', () => {
	const cleanups: (() => Promise<void> | void)[] = [];
	after(async () => {
		for (const c of cleanups.reverse()) await c();
	});

	it('delivers every event type, signed, to a receiver that is down and then failing for a while', async () => {
		const receiver = new Receiver(await freePort());
		cleanups.push(() => receiver.down());
		const t = await startTestServer({
			env: {
				PARLEY_WEBHOOKS_URLS: receiver.url,
				PARLEY_WEBHOOKS_SECRET: SECRET,
				PARLEY_WEBHOOKS_INITIAL_BACKOFF_MS: '50',
				PARLEY_WEBHOOKS_MAX_BACKOFF_MS: '300',
			},
		});
		cleanups.push(() => t.close());
		const started = Date.now();
		// The receiver is not even listening while the meeting happens.
		const host = await t.client(t.token({ room: 'hooks', identity: 'hana', name: 'Hana', role: 'host' }));
		const guest = await t.client(t.token({ room: 'hooks', identity: 'gus', name: 'Gus' }));
		await joinRoom(host);
		await joinRoom(guest);
		const send = await ok(guest, 'media:createTransport', { direction: 'send' });
		const { producerId } = await ok(guest, 'media:produce', {
			transportId: send.id,
			kind: 'audio',
			rtpParameters: syntheticRtpParameters('audio', 5001),
			source: 'microphone',
		});
		await ok(guest, 'hand:raise', {});
		await ok(guest, 'media:closeProducer', { producerId });
		guest.disconnect();
		await ok(host, 'host:end', {});
		await new Promise((r) => setTimeout(r, 600)); // several failed attempts against a closed port
		const webhooks = t.server.webhooks!;
		assert.equal(receiver.requests, 0);
		assert.ok(webhooks.stats().retried > 0, 'attempts failed and were rescheduled');
		assert.equal(webhooks.stats().delivered, 0);

		// Back, but failing: 503 for a while, then fine.
		receiver.failNext = 5;
		await receiver.up();
		const expected = webhooks.stats().events;
		await until('every event delivered', () => receiver.bodiesById.size === expected && webhooks.stats().delivered >= expected);
		const stats = webhooks.stats();
		const types = receiver.events.map((e) => e.event);
		// Recording events need real media and ffmpeg: signaling/recording.test.ts receives them.
		const recordingEvents: string[] = [WebhookEventType.RecordingStarted, WebhookEventType.RecordingFinished];
		for (const type of Object.values(WebhookEventType)) if (!recordingEvents.includes(type)) assert.ok(types.includes(type), `${type} delivered`);
		const of = (type: string) => receiver.events.filter((e) => e.event === type);
		assert.deepEqual(of('participant_joined').map((e) => e.participant?.identity).sort(), ['gus', 'hana']);
		assert.deepEqual(of('track_published')[0]?.track, { id: producerId, kind: 'audio', source: 'microphone' });
		assert.equal(of('hand_raised')[0]?.participant?.name, 'Gus');
		assert.equal(of('room_started')[0]?.room.name, 'hooks');
		assert.equal(receiver.unsigned.length, 0, 'every delivery verified');
		// At-least-once, never a duplicate under a new id: one event id per event.
		assert.equal(new Set(receiver.events.map((e) => e.id)).size, expected);
		for (const [id, bodies] of receiver.bodiesById) assert.ok(bodies.every((b) => b === bodies[0]), `${id}: same body on retry`);
		assert.equal(await webhooks.queueSize(), 0, 'the queue is empty');
		const report = { ...stats, seconds: (Date.now() - started) / 1000 };
		process.stdout.write(`# webhooks ${JSON.stringify(report)}\n`);
		assert.equal(stats.delivered, expected);
	});

	for (const engine of ['sqlite', 'redis'] as const) {
		it(`keeps undelivered events across a restart (${engine})`, async () => {
			const receiver = new Receiver(await freePort());
			cleanups.push(() => receiver.down());
			const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-hooks-'));
			cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
			let open: () => WebhookQueue;
			if (engine === 'sqlite') open = () => new SqliteWebhookQueue(path.join(dir, 'webhooks.sqlite'));
			else {
				const redis = await redisForTests();
				cleanups.push(() => redis.stop());
				const keyPrefix = `parley-test:${process.pid}:${Date.now()}:`;
				open = () => new RedisWebhookQueue({ url: redis.url, keyPrefix, leaseMs: 200 });
			}
			const dispatcher = (queue: WebhookQueue) =>
				new WebhookDispatcher({
					queue,
					urls: [receiver.url],
					secret: SECRET,
					initialBackoffMs: 50,
					maxBackoffMs: 200,
					retryForMs: 60_000,
					timeoutMs: 1000,
					pollMs: 50,
					logger: pino({ level: 'silent' }),
				});
			const q1 = open();
			const first = dispatcher(q1);
			const sent: string[] = [];
			for (let i = 0; i < 20; i++) sent.push((await first.publish({ event: WebhookEventType.HandRaised, room: { name: `r${i}` } })).id);
			await new Promise((r) => setTimeout(r, 200));
			await first.close();
			await q1.close(); // the process stops with everything undelivered
			assert.equal(first.stats().delivered, 0);

			await receiver.up();
			const q2 = open();
			const second = dispatcher(q2);
			cleanups.push(async () => {
				await second.close();
				await q2.close();
			});
			await until('the backlog delivered after the restart', () => second.stats().delivered >= sent.length);
			assert.deepEqual([...receiver.bodiesById.keys()].sort(), [...sent].sort());
			assert.equal(await q2.size(), 0);
			// With the receiver healthy: how long from event to delivery.
			await second.close();
			const live = dispatcher(q2);
			cleanups.push(() => live.close());
			for (let i = 0; i < 50; i++) await live.publish({ event: WebhookEventType.HandRaised, room: { name: `live${i}` } });
			await until('live events delivered', () => live.stats().delivered === 50);
			const stats = live.stats();
			process.stdout.write(`# webhooks healthy (${engine}) ${JSON.stringify(stats)}\n`);
			assert.equal(stats.retried, 0);
		});
	}
});
