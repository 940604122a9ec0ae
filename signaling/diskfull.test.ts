/**
 * The data disk full, on a real server: the message store (SQLite), the chat attachments and
 * the recordings live on a small tmpfs that the test fills up. An upload is refused with a
 * clear answer (507, `unavailable`: try again later) and leaves nothing behind; a chat message
 * is answered `unavailable` (the client's outbox keeps it and retries with the same id); the
 * running recording stops and everyone is told why (`disk-full`), and a new one is refused
 * while the disk has less than `recording.minFreeBytes` free. Once there is room again, all of
 * it works without a restart, and the message is stored exactly once.
 * Needs root (mount); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { joinRoom, next, ok, request, startTestServer, type TestServer } from '../test/harness.ts';
import { randomRecorderPortBase } from '../test/ports.ts';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root to mount a small tmpfs as the data disk';
let dir = '';
let mounted = false;
let t: TestServer | undefined;

before(async () => {
	if (!root) return;
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-diskfull-'));
	execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dir]);
	mounted = true;
	const ports = randomRecorderPortBase(10);
	t = await startTestServer({
		dataDir: dir,
		env: { PARLEY_RECORDING_MIN_FREE_BYTES: String(1024 ** 2), PARLEY_RECORDING_RTP_PORT_MIN: String(ports), PARLEY_RECORDING_RTP_PORT_MAX: String(ports + 9) },
	});
});

after(async () => {
	await t?.close();
	if (mounted) execFileSync('umount', ['-l', dir]);
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Fill the disk: a file that grows until the kernel says no space is left. */
function fill(): string {
	const filler = path.join(dir, 'filler');
	const fd = fs.openSync(filler, 'w');
	const chunk = Buffer.alloc(64 * 1024, 1);
	try {
		for (;;) fs.writeSync(fd, chunk);
	} catch (error) {
		assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
	} finally {
		fs.closeSync(fd);
	}
	// The last bytes of a partly written chunk, page by page, until nothing fits.
	const fd2 = fs.openSync(filler, 'a');
	try {
		for (;;) fs.writeSync(fd2, Buffer.alloc(512, 1));
	} catch {
		// full
	} finally {
		fs.closeSync(fd2);
	}
	return filler;
}

async function upload(server: TestServer, token: string, room: string, bytes: number): Promise<{ status: number; body: { error?: { code: string; message: string }; fileId?: string } }> {
	const res = await fetch(`${server.url}/api/rooms/${room}/files`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-file-name': 'notes.txt' },
		body: Buffer.alloc(bytes, 'a'),
	});
	return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; fileId?: string } };
}

it('a full data disk: uploads, chat and recording are refused with `unavailable` (a running recording stops, told why), nothing half-written stays, and all work again once there is room', { skip, timeout: 30_000 }, async () => {
	const server = t!;
	const room = 'diskfull';
	const token = server.token({ room, identity: 'ann', name: 'Ann', role: 'host' });
	const ann = await server.client(token);
	await joinRoom(ann);
	await ok(ann, 'chat:send', { id: 'full-0001', text: 'before' });
	assert.equal((await upload(server, token, room, 1000)).status, 201);
	assert.equal((await ok(ann, 'recording:start', {})).recording.active, true);

	const stopped = next(ann, 'recording:state', (r) => !r.active, 8000);
	const filler = fill();
	// Checked every 5 s, with the size limit.
	assert.equal((await stopped).stopReason, 'disk-full');
	const refusedRecording = await request(ann, 'recording:start', {});
	assert.equal(refusedRecording.ok ? null : refusedRecording.error.code, 'unavailable');
	assert.match(refusedRecording.ok ? '' : refusedRecording.error.message, /too little disk space/);

	const refused = await upload(server, token, room, 200_000);
	assert.equal(refused.status, 507, JSON.stringify(refused.body));
	assert.equal(refused.body.error?.code, 'unavailable');
	assert.match(refused.body.error?.message ?? '', /no space left/);
	const leftovers = fs.readdirSync(path.join(dir, 'files', room)).filter((f) => f.startsWith('.'));
	assert.deepEqual(leftovers, [], 'no partial upload left on the disk');

	// Enough chat to need new pages of the database (a page or two may still be free).
	let refusedId = '';
	let code = '';
	for (let i = 0; i < 50 && !refusedId; i++) {
		const id = `full-1${String(i).padStart(3, '0')}`;
		const answer = await request(ann, 'chat:send', { id, text: 'x'.repeat(4000) });
		if (!answer.ok) [refusedId, code] = [id, answer.error.code];
	}
	assert.ok(refusedId, 'a chat message is refused once the disk is full');
	assert.equal(code, 'unavailable');

	fs.rmSync(filler);
	// The same request again (the client's outbox does so with the same id): stored once.
	await ok(ann, 'chat:send', { id: refusedId, text: 'x'.repeat(4000) });
	await ok(ann, 'chat:send', { id: refusedId, text: 'x'.repeat(4000) });
	const synced = await ok(ann, 'chat:sync', { afterSeq: 0 });
	assert.equal(synced.messages.filter((m) => m.id === refusedId).length, 1, 'stored exactly once');
	assert.equal((await upload(server, token, room, 200_000)).status, 201, 'uploads work again');
	assert.equal((await ok(ann, 'recording:start', {})).recording.active, true, 'recording starts again');
	await ok(ann, 'recording:stop', {});
	ann.disconnect();
});
