/**
 * The outbox on its own, against a socket whose answers the test releases one by one: one
 * message in flight at a time and in order, a final error marks a message failed (retried
 * with the same id, or discarded), a retryable one is sent again with the same id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outbox } from './Outbox.ts';
import { StoreLink } from './StoreLink.ts';

type Answer = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };

/** Records chat:send requests; each waits until the test answers it. */
class HeldSocket {
	readonly sent: { id: string; answer(a: Answer): void }[] = [];
	timeout(): { emitWithAck: (event: string, payload: { id: string }) => Promise<Answer> } {
		return { emitWithAck: (_event, { id }) => new Promise((answer) => this.sent.push({ id, answer })) };
	}
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
const stored = (id: string): Answer => ({ ok: true, data: { message: { id }, duplicate: false, epoch: 'e' } });

function outbox(socket: HeldSocket, accepts: (id: string) => boolean = () => true): { box: Outbox; changes: () => number } {
	let changes = 0;
	const link = new StoreLink(socket, { ackTimeoutMs: 1000, retryDelayMs: 5, maxRetryDelayMs: 20 }, () => changes++);
	const box = new Outbox({
		link,
		connected: () => true,
		syncing: () => false,
		stored: (answer) => accepts(answer.message.id),
		changed: () => changes++,
		onAck: undefined,
	});
	return { box, changes: () => changes };
}

test('one message in flight at a time, in the order written; acknowledged ones leave the outbox', async () => {
	const socket = new HeldSocket();
	const { box, changes } = outbox(socket);
	box.queue('a', 'first', {});
	box.queue('b', 'second', { to: 'bob' });
	await tick();
	assert.deepEqual(socket.sent.map((s) => s.id), ['a'], 'the second waits for the first ack');
	assert.deepEqual(box.items.map((m) => `${m.id}:${m.state}`), ['a:sending', 'b:queued']);
	assert.equal(box.items[1]?.to, 'bob');
	socket.sent[0]!.answer(stored('a'));
	await tick();
	assert.deepEqual(socket.sent.map((s) => s.id), ['a', 'b']);
	socket.sent[1]!.answer(stored('b'));
	await tick();
	assert.equal(box.items.length, 0);
	assert.ok(changes() >= 4, 'every state change is told');
	box.close();
});

test('a final error marks the message failed; retry sends it again with the same id, discard drops it', async () => {
	const socket = new HeldSocket();
	const { box } = outbox(socket);
	box.queue('a', 'x', {});
	box.queue('b', 'y', {});
	await tick();
	socket.sent[0]!.answer({ ok: false, error: { code: 'forbidden', message: 'no' } });
	await tick();
	assert.deepEqual(box.items.map((m) => `${m.id}:${m.state}`), ['a:failed', 'b:sending'], 'the next one goes on');
	assert.equal(box.items[0]?.error?.code, 'forbidden');
	box.discard('b');
	assert.equal(box.items.length, 2, 'only a failed message can be discarded');
	socket.sent[1]!.answer(stored('b'));
	await tick();
	box.retry('a');
	await tick();
	assert.deepEqual(socket.sent.map((s) => s.id), ['a', 'b', 'a']);
	assert.equal(box.items[0]?.error, undefined);
	socket.sent[2]!.answer({ ok: false, error: { code: 'not_found', message: 'gone' } });
	await tick();
	box.discard('a');
	assert.equal(box.items.length, 0);
	box.close();
});

test('a retryable error sends the same id again; an answer from another store epoch stops the sending', async () => {
	const socket = new HeldSocket();
	let accept = true;
	const { box } = outbox(socket, () => accept);
	box.queue('a', 'x', {});
	box.queue('b', 'y', {});
	await tick();
	socket.sent[0]!.answer({ ok: false, error: { code: 'rate_limited', message: 'slow down' } });
	await tick();
	assert.deepEqual(socket.sent.map((s) => s.id), ['a', 'a']);
	accept = false;
	socket.sent[1]!.answer(stored('a'));
	await tick();
	assert.deepEqual(box.items.map((m) => `${m.id}:${m.state}`), ['b:queued'], 'acknowledged, and nothing more sent');
	assert.equal(socket.sent.length, 2);
	box.close();
	await box.flush();
	assert.equal(socket.sent.length, 2, 'closed: nothing is sent');
});
