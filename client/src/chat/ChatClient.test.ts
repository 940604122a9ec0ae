/** ChatClient against a scripted in-memory socket: the reconnect paths that are hard to hit with a real server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatClient, type ChatSocket } from './ChatClient.ts';

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
			data: { messages: stored.filter((m) => m.seq > Number(afterSeq)), lastSeq: stored.length, hasMore: false },
		}),
		'chat:history': () => ({ ok: true, data: { messages: [...stored], hasMore: false, receipts: [] } }),
		'chat:send': ({ id, text }) => {
			const existing = stored.find((m) => m.id === id);
			const m = existing ?? message(stored.length + 1, String(id), 'me', String(text));
			if (!existing) stored.push(m);
			if (dropAck) return 'no-answer';
			return { ok: true, data: { message: m, duplicate: Boolean(existing) } };
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

test('after a reconnect the receipts of own messages are fetched again (pushes were missed meanwhile)', async () => {
	const stored = [message(1, 'msg-mine-0001', 'me'), message(2, 'msg-their-001', 'bob')];
	let readBy: string[] = [];
	const socket = new FakeSocket({
		'chat:sync': ({ afterSeq }) => ({
			ok: true,
			data: { messages: stored.filter((m) => m.seq > Number(afterSeq)), lastSeq: 2, hasMore: false },
		}),
		'chat:history': () => ({
			ok: true,
			data: { messages: stored, hasMore: false, receipts: [{ seq: 1, deliveredTo: ['bob'], readBy }] },
		}),
	});
	const chat = client(socket);
	socket.connect();
	await settle();
	assert.deepEqual(chat.snapshot().receipts.get(1)?.readBy, []);
	assert.equal(chat.snapshot().hasMoreHistory, false, 'synced from the start: nothing older to load');
	socket.disconnect();
	readBy = ['bob'];
	socket.connect();
	await settle();
	assert.deepEqual(chat.snapshot().receipts.get(1)?.readBy, ['bob']);
	// A push and an older answer merge: receipts never shrink.
	socket.fire('chat:receipts', { receipts: [{ seq: 1, deliveredTo: ['bob', 'carol'], readBy: [] }] });
	assert.deepEqual(chat.snapshot().receipts.get(1), { seq: 1, deliveredTo: ['bob', 'carol'], readBy: ['bob'] });
	chat.close();
});

test('a failed sync is retried while connected, so no gap is left until the next reconnect', async () => {
	let failures = 2;
	const socket = new FakeSocket({
		'chat:sync': () =>
			failures-- > 0
				? { ok: false, error: { code: 'rate_limited', message: 'slow down' } }
				: { ok: true, data: { messages: [message(1, 'msg-their-001', 'bob')], lastSeq: 1, hasMore: false } },
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
