/**
 * Messaging over the real server and real Socket.IO clients, with the SQLite store:
 * acknowledged sends, idempotent retries, direct-message privacy, receipts, typing,
 * presence, flood control and bad input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { io as connect } from 'socket.io-client';
import { ChatClient } from '../client/src/chat/ChatClient.ts';
import { next, ok, rawRequest, request, startTestServer, type TestClient, type TestServer } from '../test/harness.ts';
import { drained } from '../test/chat.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer({ env: { PARLEY_PRESENCE_LEAVE_AFTER_MS: '300' } });
});
after(async () => {
	await t.close();
});

const member = (room: string, identity: string, name = identity) => t.client(t.token({ room, identity, name }));
const send = (socket: TestClient, id: string, text: string, to: string | null = null) => request(socket, 'chat:send', { id, text, to });

describe('chat', () => {
	it('acknowledges with a seq, stores once on retry, and forwards to the room', async () => {
		const a = await member('chat1', 'ann');
		const b = await member('chat1', 'ben');
		const incoming = next(b, 'chat:message');
		const first = await ok(a, 'chat:send', { id: 'msg-00000001', text: 'hello <script>alert(1)</script>' });
		assert.equal(first.duplicate, false);
		assert.equal(first.message.seq, 1);
		assert.equal(first.message.from, 'ann');
		assert.equal(first.message.text, 'hello <script>alert(1)</script>', 'stored verbatim; the client renders text, never HTML');
		assert.deepEqual(await incoming, first.message);

		const retry = await ok(a, 'chat:send', { id: 'msg-00000001', text: 'hello <script>alert(1)</script>' });
		assert.equal(retry.duplicate, true);
		assert.equal(retry.message.seq, 1);
		assert.equal(await t.messages.lastSeq('chat1'), 1);

		const synced = await ok(b, 'chat:sync', { afterSeq: 0 });
		assert.deepEqual(synced.messages.map((m) => m.id), ['msg-00000001']);
		assert.equal(synced.lastSeq, 1);
		a.disconnect();
		b.disconnect();
	});

	it('keeps direct messages between their two participants', async () => {
		const a = await member('dm', 'amy');
		const b = await member('dm', 'bob');
		const c = await member('dm', 'cat');
		let leaked = false;
		c.on('chat:message', () => (leaked = true));
		const toBob = next(b, 'chat:message');
		const sent = await ok(a, 'chat:send', { id: 'dm-00000001', text: 'psst', to: 'bob' });
		assert.equal((await toBob).seq, sent.message.seq);
		assert.equal((await ok(c, 'chat:sync', { afterSeq: 0 })).messages.length, 0);
		assert.equal((await ok(c, 'chat:history', { beforeSeq: null })).messages.length, 0);
		const unknown = await send(a, 'dm-00000002', 'hi', 'nobody');
		assert.equal(!unknown.ok && unknown.error.code, 'not_found');
		await new Promise((r) => setTimeout(r, 100));
		assert.equal(leaked, false);
		for (const s of [a, b, c]) s.disconnect();
	});

	it('delivered and read receipts are room-wide watermarks, pushed when they move and whole in every sync', async () => {
		const a = await member('rcpt', 'al');
		const b = await member('rcpt', 'bo');
		const c = await member('rcpt', 'cy');
		const { message } = await ok(a, 'chat:send', { id: 'rc-00000001', text: 'did you get this?' });
		const { message: mine } = await ok(b, 'chat:send', { id: 'rc-00000002', text: 'mine' });
		const events: string[] = [];
		a.on('chat:watermarks', (w) => events.push(JSON.stringify(w.marks)));
		const mark = (identity: string, key: 'deliveredUpTo' | 'readUpTo') =>
			next(a, 'chat:watermarks', (w) => w.marks.some((m) => m.identity === identity && m[key] !== undefined));
		const bo = mark('bo', 'deliveredUpTo');
		await ok(b, 'chat:delivered', { upToSeq: mine.seq });
		assert.deepEqual((await bo).marks, [{ identity: 'bo', deliveredUpTo: mine.seq }]);
		await ok(b, 'chat:delivered', { upToSeq: message.seq }); // behind: nothing moves, nothing pushed
		const together = mark('cy', 'deliveredUpTo');
		await ok(c, 'chat:delivered', { upToSeq: 99 }); // clamped to the last seq
		assert.equal((await ok(b, 'chat:read', { upToSeq: 1000 })).readUpTo, mine.seq, 'clamped to the last seq');
		assert.deepEqual(
			(await together).marks,
			[{ identity: 'cy', deliveredUpTo: mine.seq }, { identity: 'bo', readUpTo: mine.seq }],
			'moves within 50 ms travel in one event',
		);
		await new Promise((r) => setTimeout(r, 100));
		assert.equal(events.length, 2, `one event per flush: ${events.join(' ')}`);
		// After a reconnect: the last sync page carries everyone's watermarks.
		const sync = await ok(a, 'chat:sync', { afterSeq: 0 });
		assert.deepEqual(sync.readUpTo, { bo: mine.seq });
		assert.deepEqual(sync.deliveredUpTo, { bo: mine.seq, cy: mine.seq });
		assert.deepEqual((await ok(a, 'chat:receipts', { seqs: [message.seq, mine.seq] })).receipts, [
			{ seq: message.seq, deliveredTo: ['bo', 'cy'], readBy: ['bo'] },
		], "only one's own messages");
		for (const s of [a, b, c]) s.disconnect();
	});

	it('refuses bad, oversized, empty and flooding messages with clear errors', async () => {
		const a = await member('bad', 'ab');
		const cases: [unknown, string][] = [
			[{ id: 'short', text: 'x' }, 'bad_request'],
			[{ id: 'okid-0000001', text: 'x'.repeat(4001) }, 'bad_request'],
			[{ id: 'okid-0000002', text: '   ' }, 'bad_request'],
			[{ id: 'okid-0000003', text: 'x', extra: 1 }, 'bad_request'],
			[{ id: 'okid-0000004', text: 'x', attachment: { fileId: 'nonexistent-file' } }, 'not_found'],
			['just a string', 'bad_request'],
		];
		for (const [payload, code] of cases) {
			const result = await rawRequest(a, 'chat:send', payload);
			assert.equal(!result.ok && result.error.code, code, JSON.stringify(payload).slice(0, 60));
			assert.ok(!result.ok && result.error.message);
		}
		const flood = await Promise.all(Array.from({ length: 60 }, (_, i) => send(a, `flood-${String(i).padStart(6, '0')}`, `m${i}`)));
		const limited = flood.filter((r) => !r.ok && r.error.code === 'rate_limited').length;
		assert.ok(limited >= 30, `flood control refused ${limited} of 60`);
		assert.ok(flood.filter((r) => r.ok).length >= 15);
		// A retry of a stored message is still acknowledged while limited.
		const storedId = flood.map((r, i) => (r.ok ? i : -1)).find((i) => i >= 0)!;
		const again = await send(a, `flood-${String(storedId).padStart(6, '0')}`, `m${storedId}`);
		assert.equal(again.ok && again.data.duplicate, true);
		a.disconnect();
	});

	it('never shows one room the messages of another, even with the same ids', async () => {
		const a = await member('iso-a', 'same-person');
		const b = await member('iso-b', 'same-person');
		await ok(a, 'chat:send', { id: 'iso-0000001', text: 'in A' });
		const inB = await ok(b, 'chat:send', { id: 'iso-0000001', text: 'in B' });
		assert.equal(inB.duplicate, false);
		assert.equal(inB.message.text, 'in B');
		assert.deepEqual((await ok(b, 'chat:sync', { afterSeq: 0 })).messages.map((m) => m.text), ['in B']);
		a.disconnect();
		b.disconnect();
	});

	it('relays typing and tracks presence: online, away, reconnecting, left', async () => {
		const a = await member('pres', 'pa', 'Pat');
		// Listen before connecting: the snapshot is the first thing the server sends.
		const b: TestClient = connect(t.url, { auth: { token: t.token({ room: 'pres', identity: 'pb' }) }, transports: ['websocket'], autoConnect: false, reconnection: false });
		const snapshot = next(b, 'presence:snapshot');
		const bOnline = next(a, 'presence:update', (p) => p.identity === 'pb' && p.state === 'online');
		b.connect();
		const snap = await snapshot;
		assert.deepEqual(
			snap.participants.map((p) => [p.identity, p.state]).sort(),
			[['pa', 'online'], ['pb', 'online']],
		);
		await bOnline;
		const typing = next(b, 'chat:typing');
		await ok(a, 'chat:typing', { typing: true });
		assert.deepEqual(await typing, { identity: 'pa', name: 'Pat', typing: true, direct: false });
		const away = next(b, 'presence:update', (p) => p.identity === 'pa' && p.state === 'away');
		await ok(a, 'presence:set', { state: 'away' });
		await away;
		// A dropped connection: reconnecting, then left after the grace period.
		const reconnecting = next(b, 'presence:update', (p) => p.identity === 'pa' && p.state === 'reconnecting');
		const left = next(b, 'presence:update', (p) => p.identity === 'pa' && p.state === 'left');
		a.io.engine.close();
		await reconnecting;
		await left;
		// Leaving on purpose: left at once.
		const c = await member('pres', 'pc');
		const cLeft = next(b, 'presence:update', (p) => p.identity === 'pc' && p.state === 'left', 200);
		c.disconnect();
		await cLeft;
		b.disconnect();
	});

	it('attaches an uploaded file of the same room, and only of the same room', async () => {
		const token = t.token({ room: 'files', identity: 'fa' });
		const upload = await fetch(`${t.url}/api/rooms/files/files`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-file-name': encodeURIComponent('notes.txt') },
			body: 'minutes of the meeting',
		});
		assert.equal(upload.status, 201);
		const { fileId } = (await upload.json()) as { fileId: string };
		const a = await t.client(token);
		const sent = await ok(a, 'chat:send', { id: 'file-0000001', text: '', attachment: { fileId } });
		assert.deepEqual(sent.message.attachment, { fileId, name: 'notes.txt', size: 22, mime: 'text/plain' });
		const other = await member('elsewhere', 'fb');
		const stolen = await send(other, 'file-0000002', 'look', null);
		assert.equal(stolen.ok, true);
		const foreign = await request(other, 'chat:send', { id: 'file-0000003', text: 'x', attachment: { fileId } });
		assert.equal(!foreign.ok && foreign.error.code, 'not_found');
		a.disconnect();
		other.disconnect();
	});

	it('ChatClient: queued while offline, sent once with the same ids, history complete', async () => {
		const a = await t.client(t.token({ room: 'outbox', identity: 'oa' }), true);
		const b = await t.client(t.token({ room: 'outbox', identity: 'ob' }), true);
		const ca = new ChatClient({ socket: a, identity: 'oa' });
		const cb = new ChatClient({ socket: b, identity: 'ob' });
		ca.send('one');
		await drained(ca);
		a.io.engine.close(); // the connection drops
		ca.send('two');
		ca.send('three');
		await drained(ca);
		await new Promise((r) => setTimeout(r, 200));
		assert.deepEqual(ca.messages.map((m) => m.text), ['one', 'two', 'three']);
		assert.deepEqual(cb.messages.map((m) => m.text), ['one', 'two', 'three']);
		assert.deepEqual(cb.messages.map((m) => m.seq), [1, 2, 3]);
		ca.close();
		cb.close();
		a.disconnect();
		b.disconnect();
	});
});
