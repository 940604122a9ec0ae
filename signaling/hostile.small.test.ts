/**
 * The small hostile cases: client mistakes answered as client mistakes, the token kept
 * out of the log under any spelling, normalised display names, per-room upload quota and
 * retention.
 */
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { redactUrl } from './logger.ts';
import { normalizeDisplayName } from './protocol/index.ts';
import { pruneOldFiles } from './files/RoomQuota.ts';
import { joinRoom, ok, request, startTestServer, type TestServer } from '../test/harness.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer({ env: { PARLEY_FILES_ROOM_QUOTA_BYTES: '3000' } });
});
after(async () => t.close());

describe('client mistakes are bad_request / invalid_state, never internal', () => {
	it('chat:history before seq 0, and capabilities nested 100,000 deep at join', async () => {
		const socket = await t.client(t.token({ room: 'mistakes', identity: 'm1' }));
		const history = await request(socket, 'chat:history', { beforeSeq: 0 });
		assert.ok(history.ok || history.error.code === 'bad_request', JSON.stringify(history));
		// 100,000 levels: more than socket.io-client can encode, so the packet is written by hand.
		const { rtpCapabilities } = await ok(socket, 'media:getRouterRtpCapabilities', {});
		const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`; // 200 kB, under the 256 kB packet limit
		const codec = JSON.stringify(rtpCapabilities.codecs![0]).replace(/}$/, `,"parameters":{"evil":${deep}}}`);
		const answers: unknown[] = [];
		socket.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
			if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('3')) answers.push(packet.data);
		});
		socket.io.engine.send(`2901["room:join",{"rtpCapabilities":{"codecs":[${codec}]}}]`);
		socket.io.engine.send(`2902["room:join",{"rtpCapabilities":{"codecs":${JSON.stringify(rtpCapabilities.codecs)},"extra":${deep}}}]`);
		await new Promise((r) => setTimeout(r, 1000));
		const [first, second] = answers.map((a) => JSON.parse(String(a).replace(/^\d+/, ''))[0] as { ok: boolean; error?: { code: string } });
		assert.equal(first?.ok, false, 'nested codec parameters are refused');
		assert.equal(first?.error?.code, 'bad_request');
		assert.ok(second?.ok, 'unknown keys are dropped at the edge, the join succeeds');
		assert.equal(JSON.stringify(t.sfu.rooms.get('mistakes')!.peer('m1').rtpCapabilities).includes('"extra"'), false);
		// Connecting (and using) the peer still works: nothing fails later.
		assert.equal((await request(socket, 'media:createTransport', { direction: 'recv' })).ok, true);
	});
});

describe('the token never reaches the log', () => {
	it('redacts token parameters by their decoded name', () => {
		assert.equal(redactUrl('/f?token=abc'), '/f?token=[redacted]');
		assert.equal(redactUrl('/f?%74oken=abc&x=1'), '/f?%74oken=[redacted]&x=1');
		assert.equal(redactUrl('/f?TOKEN=abc'), '/f?TOKEN=[redacted]');
		assert.equal(redactUrl('/f?to%6Ben=a&tokens=keep'), '/f?to%6Ben=[redacted]&tokens=keep');
		assert.equal(redactUrl('/f?a=1'), '/f?a=1');
	});
});

describe('display names', () => {
	it('are normalised: NFKC, no zero-width or bidi controls, collapsed whitespace', () => {
		assert.equal(normalizeDisplayName('  Ａｌｉｃｅ  '), 'Alice');
		assert.equal(normalizeDisplayName('Al\u200bi\u202ece\u2066'), 'Alice');
		assert.equal(normalizeDisplayName('Bob \t\n  Smith'), 'Bob Smith');
	});

	it('an invisible-only name is refused, and peers see the normalised name', async () => {
		assert.throws(() => t.token({ room: 'names', identity: 'n0', name: '\u200b\u200f' }));
		const socket = await t.client(t.token({ room: 'names', identity: 'n1', name: 'Ｍａｌ\u202elory' }));
		const joined = await joinRoom(socket);
		assert.equal(joined.self.name, 'Mallory');
	});
});

describe('uploads: quota per room and retention', () => {
	const upload = (room: string, identity: string, bytes: number) =>
		fetch(`${t.url}/api/rooms/${room}/files`, {
			method: 'POST',
			headers: { authorization: `Bearer ${t.token({ room, identity })}`, 'content-type': 'text/plain', 'x-file-name': 'a.txt' },
			body: 'x'.repeat(bytes),
		});

	it('refuses uploads past the room quota; other rooms are not affected', async () => {
		assert.equal((await upload('quota', 'u1', 2000)).status, 201);
		assert.equal((await upload('quota', 'u1', 2000)).status, 413, 'only 1000 bytes left');
		assert.equal((await upload('quota', 'u2', 900)).status, 201);
		assert.equal((await upload('quota', 'u2', 200)).status, 413, 'full');
		assert.equal((await upload('quota-other', 'u1', 2000)).status, 201);
	});

	it('deletes files older than the retention period', async () => {
		const res = await upload('retain', 'u1', 100);
		const { fileId } = (await res.json()) as { fileId: string };
		const file = path.join(t.config.data.dir, 'files', 'retain', fileId);
		assert.ok(existsSync(file));
		assert.equal(await pruneOldFiles(path.join(t.config.data.dir, 'files'), 86_400_000), 0, 'fresh files stay');
		const old = new Date(Date.now() - 2 * 86_400_000);
		utimesSync(file, old, old);
		assert.equal(await pruneOldFiles(path.join(t.config.data.dir, 'files'), 86_400_000), 1);
		assert.equal(existsSync(file), false);
		assert.equal((await fetch(`${t.url}/api/rooms/retain/files/${fileId}`, { headers: { authorization: `Bearer ${t.token({ room: 'retain', identity: 'u1' })}` } })).status, 404);
	});
});
