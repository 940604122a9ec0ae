/** ChatClient against a scripted in-memory socket: the reconnect paths that are hard to hit with a real server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatClient, type ChatSocket } from './ChatClient.ts';
import { drained } from '../../../test/chat.ts';

type Answer = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };
type Handler = (payload: Record<string, unknown>) => Answer | 'no-answer';

/** Just enough of a Socket.IO client socket: on/off, connect/disconnect, timeout().emitWithAck(). */
class FakeSocket {
	connected = false;
	readonly sent: { event: string; payload: Record<string, unknown> }[] = [];
	readonly #listeners = new Map<string, Set<(payload?: unknown) => void>>();
	readonly #pending = new Set<(error: Error) => void>();
	readonly handlers: Record<string, Handler>;

	constructor(handlers: Record<string, Handler>) {
		this.handlers = handlers;
	}

	on(event: string, fn: (payload?: unknown) => void): this {
		if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
		this.#listeners.get(event)!.add(fn);
		return this;
	}

	off(event: string, fn: (payload?: unknown) => void): this {
		this.#listeners.get(event)?.delete(fn);
		return this;
	}

	timeout(_ms: number): { emitWithAck: (event: string, payload: Record<string, unknown>) => Promise<Answer> } {
		return {
			emitWithAck: (event, payload) => {
				this.sent.push({ event, payload });
				const handler = this.handlers[event];
				const answer = handler ? handler(payload) : { ok: true as const, data: {} };
				if (answer !== 'no-answer') return Promise.resolve(answer);
				return new Promise<Answer>((_resolve, reject) => this.#pending.add(reject));
			},
		};
	}

	fire(event: string, payload?: unknown): void {
		for (const fn of [...(this.#listeners.get(event) ?? [])]) fn(payload);
	}

	connect(): void {
		this.connected = true;
		this.fire('connect');
	}

	disconnect(): void {
		this.connected = false;
		for (const reject of this.#pending) reject(new Error('socket has been disconnected'));
		this.#pending.clear();
		this.fire('disconnect', 'transport close');
	}

	count(event: string): number {
		return this.sent.filter((s) => s.event === event).length;
	}
}

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

function message(seq: number, id: string, from: string, text = id) {
	return { id, seq, ts: 1000 + seq, from, fromName: from, to: null, text, attachment: null };
}

function client(socket: FakeSocket, identity = 'me'): ChatClient {
	let n = 0;
	return new ChatClient({
		socket: socket as unknown as ChatSocket,
		identity,
		retryDelayMs: 5,
		newId: () => `msg-${String(++n).padStart(8, '0')}`,
	});
}

test('a message stored although its ack was lost is taken out of the outbox by the sync, not shown twice', async () => {
	const stored: ReturnType<typeof message>[] = [];
	let dropAck = true;
	const socket = new FakeSocket({
		'chat:sync': ({ afterSeq }) => ({
			ok: true,
			data: { messages: stored.filter((m) => m.seq > Number(afterSeq)), lastSeq: stored.length, hasMore: false, epoch: 'e', readUpTo: {} },
		}),
		'chat:history': () => ({ ok: true, data: { messages: [...stored], hasMore: false, receipts: [] } }),
		'chat:send': ({ id, text }) => {
			const existing = stored.find((m) => m.id === id);
			const m = existing ?? message(stored.length + 1, String(id), 'me', String(text));
			if (!existing) stored.push(m);
			if (dropAck) return 'no-answer';
			return { ok: true, data: { message: m, duplicate: Boolean(existing), epoch: 'e' } };
		},
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	chat.send('hello');
	await settle();
	assert.equal(stored.length, 1, 'the server stored it');
	assert.equal(chat.snapshot().outbox.length, 1, 'no ack yet: still outgoing');
	socket.disconnect();
	await settle();
	assert.equal(chat.snapshot().outbox[0]?.state, 'queued');
	dropAck = false;
	const states: string[] = [];
	chat.subscribe(() => {
		const s = chat.snapshot();
		const shown = s.messages.filter((m) => m.id === 'msg-00000001').length + s.outbox.filter((o) => o.id === 'msg-00000001').length;
		states.push(String(shown));
	});
	socket.connect();
	await settle();
	assert.deepEqual(
		chat.messages.map((m) => m.text),
		['hello'],
	);
	assert.equal(chat.outbox.length, 0);
	assert.ok(!states.includes('2'), `never both stored and outgoing: ${states.join(',')}`);
	assert.equal(socket.count('chat:send'), 1, 'not sent again: the sync showed it is stored');
	chat.close();
});

test('after a reconnect: delivered and read receipts come whole with the sync (watermarks), no caps', async () => {
	// 450 own messages and one of bob's: no cap at 200 or 50 anywhere.
	const stored = [...Array.from({ length: 450 }, (_, i) => message(i + 1, `msg-mine-${i + 1}`, 'me')), message(451, 'msg-their-001', 'bob')];
	let readUpTo: Record<string, number> = {};
	let deliveredUpTo: Record<string, number> = {};
	const socket = new FakeSocket({
		'chat:sync': ({ afterSeq, limit }) => {
			const page = stored.filter((m) => m.seq > Number(afterSeq)).slice(0, Number(limit));
			const hasMore = page.length > 0 && page.at(-1)!.seq < 451;
			return { ok: true, data: { messages: page, lastSeq: 451, hasMore, epoch: 'e1', ...(hasMore ? {} : { readUpTo, deliveredUpTo }) } };
		},
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	assert.equal(chat.messages.length, 451);
	assert.equal(chat.snapshot().receipts.get(1), undefined);
	assert.equal(chat.snapshot().hasMoreHistory, false, 'synced from the start: nothing older to load');
	socket.disconnect();
	// Meanwhile carol got everything and bob read everything: the pushes were missed.
	readUpTo = { bob: 451 };
	deliveredUpTo = { carol: 451, bob: 10 };
	socket.connect();
	await settle(50);
	const receipts = chat.snapshot().receipts;
	for (const seq of [1, 200, 201, 450]) assert.deepEqual(receipts.get(seq), { seq, deliveredTo: ['bob', 'carol'], readBy: ['bob'] });
	// Pushed watermarks merge with max; an explicit receipt merges as a union.
	socket.fire('chat:watermarks', { marks: [{ identity: 'carol', readUpTo: 300 }] });
	socket.fire('chat:watermarks', { marks: [{ identity: 'carol', readUpTo: 200 }, { identity: 'dan', deliveredUpTo: 5 }] });
	socket.fire('chat:receipts', { receipts: [{ seq: 400, deliveredTo: ['erin'], readBy: [] }] });
	assert.deepEqual(chat.snapshot().receipts.get(1), { seq: 1, deliveredTo: ['bob', 'carol', 'dan'], readBy: ['bob', 'carol'] });
	assert.deepEqual(chat.snapshot().receipts.get(301), { seq: 301, deliveredTo: ['bob', 'carol'], readBy: ['bob'] });
	assert.deepEqual(chat.snapshot().receipts.get(400), { seq: 400, deliveredTo: ['bob', 'carol', 'erin'], readBy: ['bob'] });
	chat.close();
});

test('delivered: one watermark request for many messages; a drop right after a message arrived → sent after the reconnect', async () => {
	const stored: ReturnType<typeof message>[] = [];
	const socket = new FakeSocket({
		'chat:sync': ({ afterSeq }) => ({
			ok: true,
			data: { messages: stored.filter((m) => m.seq > Number(afterSeq)), lastSeq: stored.length, hasMore: false, epoch: 'e1', readUpTo: {}, deliveredUpTo: {} },
		}),
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	for (let i = 1; i <= 300; i++) {
		stored.push(message(i, `msg-their-${i}`, 'bob'));
		socket.fire('chat:message', stored.at(-1));
	}
	await settle(200);
	const sent = () => socket.sent.filter((s) => s.event === 'chat:delivered').map((s) => s.payload.upToSeq);
	assert.deepEqual(sent(), [300], '300 messages, one request');
	stored.push(message(301, 'msg-their-301', 'bob'));
	socket.fire('chat:message', stored.at(-1));
	socket.disconnect(); // within the 100 ms batching delay
	await settle(200);
	assert.deepEqual(sent(), [300], 'nothing sent while offline');
	stored.push(message(302, 'msg-their-302', 'bob')); // stored while away: comes with the sync
	socket.connect();
	await settle(200);
	assert.deepEqual(sent(), [300, 302], 'sent after the reconnect, covering what the sync brought');
	chat.close();
});

test('read: a refused or unanswered chat:read is sent again until acknowledged; one asked for offline goes after the reconnect', async () => {
	let refuse = 2;
	const socket = new FakeSocket({
		'chat:sync': () => ({ ok: true, data: { messages: [message(1, 'msg-their-1', 'bob'), message(2, 'msg-their-2', 'bob')], lastSeq: 2, hasMore: false, epoch: 'e1', readUpTo: {}, deliveredUpTo: {} } }),
		'chat:read': () => (refuse-- > 0 ? { ok: false, error: { code: refuse === 1 ? 'rate_limited' : 'timeout', message: 'try later' } } : { ok: true, data: {} }),
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	await chat.markRead();
	const reads = () => socket.sent.filter((s) => s.event === 'chat:read').map((s) => s.payload.upToSeq);
	assert.deepEqual(reads(), [2, 2, 2], 'refused twice, then acknowledged');
	await chat.markRead(2);
	assert.deepEqual(reads(), [2, 2, 2], 'acknowledged already: not sent again');
	socket.disconnect();
	await chat.markRead(3);
	assert.deepEqual(reads(), [2, 2, 2], 'nothing sent while offline');
	socket.connect();
	await settle(50);
	assert.deepEqual(reads(), [2, 2, 2, 3], 'sent after the reconnect');
	chat.close();
});

test('a store restarted from empty (new epoch): held messages dropped, synced from 0, the outbox kept and sent', async () => {
	let epoch = 'old';
	let stored = [message(1, 'msg-their-001', 'bob'), message(2, 'msg-their-002', 'bob')];
	const socket = new FakeSocket({
		'chat:sync': ({ afterSeq }) => ({
			ok: true,
			data: { messages: stored.filter((m) => m.seq > Number(afterSeq)), lastSeq: stored.length, hasMore: false, epoch, readUpTo: {} },
		}),
		'chat:send': ({ id, text }) => {
			const m = message(stored.length + 1, String(id), 'me', String(text));
			stored.push(m);
			return { ok: true, data: { message: m, duplicate: false, epoch } };
		},
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	assert.equal(chat.epoch, 'old');
	socket.disconnect();
	chat.send('written while away');
	// The store comes back empty: another message takes seq 1.
	epoch = 'new';
	stored = [message(1, 'msg-other-001', 'carol')];
	socket.connect();
	await settle(50);
	assert.equal(chat.epoch, 'new');
	assert.deepEqual(
		chat.messages.map((m) => `${m.seq}:${m.id}`),
		['1:msg-other-001', '2:msg-00000001'],
		'the old epoch is gone, the new one complete, the outbox sent',
	);
	assert.equal(chat.outbox.length, 0);

	// Detected from a push too: a message with a seq already held, another id.
	epoch = 'newer';
	stored = [message(1, 'msg-again-001', 'dan')];
	socket.fire('chat:message', stored[0]);
	await settle(50);
	assert.equal(chat.epoch, 'newer');
	assert.deepEqual(chat.messages.map((m) => `${m.seq}:${m.id}`), ['1:msg-again-001']);
	chat.close();
});

test('store unavailable: status says so, sends back off and retry with the same id, nothing lost', async () => {
	let down = true;
	const stored: ReturnType<typeof message>[] = [];
	const unavailable = { ok: false as const, error: { code: 'unavailable', message: 'store down' } };
	const socket = new FakeSocket({
		'chat:sync': () => (down ? unavailable : { ok: true, data: { messages: [...stored], lastSeq: stored.length, hasMore: false, epoch: 'e', readUpTo: {} } }),
		'chat:send': ({ id, text }) => {
			if (down) return unavailable;
			const m = message(stored.length + 1, String(id), 'me', String(text));
			stored.push(m);
			return { ok: true, data: { message: m, duplicate: false, epoch: 'e' } };
		},
	});
	const chat = new ChatClient({ socket: socket as unknown as ChatSocket, identity: 'me', retryDelayMs: 5, maxRetryDelayMs: 40 });
	socket.connect();
	chat.send('one');
	chat.send('two');
	await settle(150);
	assert.equal(chat.snapshot().status, 'unavailable');
	const tries = socket.count('chat:sync');
	assert.ok(tries >= 3 && tries <= 15, `backed off: ${tries} sync attempts in 150 ms`);
	assert.equal(chat.outbox.length, 2);
	down = false;
	await drained(chat, 5);
	assert.equal(chat.snapshot().status, 'online');
	assert.deepEqual(chat.messages.map((m) => m.text), ['one', 'two']);
	socket.disconnect();
	assert.equal(chat.snapshot().status, 'offline');
	chat.close();
});

test('a failed sync is retried while connected, so no gap is left until the next reconnect', async () => {
	let failures = 2;
	const socket = new FakeSocket({
		'chat:sync': () =>
			failures-- > 0
				? { ok: false, error: { code: 'rate_limited', message: 'slow down' } }
				: { ok: true, data: { messages: [message(1, 'msg-their-001', 'bob')], lastSeq: 1, hasMore: false, epoch: 'e', readUpTo: {} } },
	});
	const chat = client(socket);
	socket.connect();
	await settle(60);
	assert.equal(socket.count('chat:sync'), 3);
	assert.deepEqual(
		chat.messages.map((m) => m.seq),
		[1],
	);
	chat.close();
});
