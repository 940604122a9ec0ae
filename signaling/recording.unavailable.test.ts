/**
 * Recording when its recorder cannot run: the server's ffmpeg path points at nothing. A host's
 * Record is refused with `unavailable` and a clear message (before, the recording showed as
 * running while every track's ffmpeg failed to start: nothing recorded, nobody told), nothing
 * shows as recording; once the binary is there, recording starts without a restart. And an
 * ffmpeg that starts but keeps failing on a track: the hosts are told that track is not
 * recorded (before, only the server's log said so). The same when every recorder port is
 * held by another process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Bot } from '../bench/bot/bot.ts';
import { loadMedia } from '../bench/bot/media.ts';
import { ParleyConnector } from '../bench/bot/parley.ts';
import { joinRoom, next, ok, request, startTestServer, type TestServer } from '../test/harness.ts';
import { randomRecorderPortBase } from '../test/ports.ts';

let t: TestServer;
let portBase = 0;
const bots: Bot[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-noffmpeg-'));
const ffmpeg = path.join(dir, 'bin', 'ffmpeg');
/** The machine's ffmpeg, which the server's path leads to once "installed". */
const REAL_FFMPEG = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();

before(async () => {
	portBase = randomRecorderPortBase(10);
	t = await startTestServer({
		env: { PARLEY_RECORDING_FFMPEG_PATH: ffmpeg, PARLEY_RECORDING_RTP_PORT_MIN: String(portBase), PARLEY_RECORDING_RTP_PORT_MAX: String(portBase + 9) },
	});
});

after(async () => {
	await Promise.all(bots.map((b) => b.close()));
	await t?.close();
	rmSync(dir, { recursive: true, force: true });
});

it('a missing ffmpeg: Record is refused with `unavailable` and nothing shows as recording; once ffmpeg is there, it records without a restart', { timeout: 30_000 }, async () => {
	const host = await t.client(t.token({ room: 'noffmpeg', identity: 'hana', name: 'Hana', role: 'host' }));
	await joinRoom(host);
	const refused = await request(host, 'recording:start', {});
	assert.equal(refused.ok ? null : refused.error.code, 'unavailable');
	assert.match(refused.ok ? '' : refused.error.message, /recording is not available on this server/);
	assert.equal(t.server.recordings.state('noffmpeg').active, false);

	// The operator installs it (here: the path now leads to the real binary).
	execFileSync('mkdir', ['-p', path.dirname(ffmpeg)]);
	symlinkSync(REAL_FFMPEG, ffmpeg);
	const started = await ok(host, 'recording:start', {});
	assert.equal(started.recording.active, true);
	await ok(host, 'recording:stop', {});
	host.disconnect();
});

it('an ffmpeg that keeps failing on a track: the hosts are told that track is not recorded', { timeout: 30_000 }, async () => {
	await loadMedia();
	// Answers -version (the start-up check passes), fails on every recording.
	rmSync(ffmpeg, { force: true });
	writeFileSync(ffmpeg, `#!/bin/sh\nif [ "$2" = "-version" ]; then exec ${REAL_FFMPEG} "$@"; fi\necho "simulated failure" >&2\nexit 1\n`);
	chmodSync(ffmpeg, 0o755);
	assert.deepEqual(await recordAnnsMicrophone('badffmpeg'), { name: 'Ann', source: 'microphone', reason: 'its recorder process keeps failing' });
});

/** Hana (host) records room `room`, where Ann (a bot) publishes her microphone: the first `recording:problem` about Ann. */
async function recordAnnsMicrophone(room: string): Promise<unknown> {
	const host = await t.client(t.token({ room, identity: 'hana', name: 'Hana', role: 'host' }));
	await joinRoom(host);
	const connector = new ParleyConnector({ url: t.url, token: (r, id, grants) => t.token({ room: r, identity: id, name: 'Ann', grants }) });
	const ann = new Bot({ connector, room, identity: 'ann', publish: { video: 'none', audio: true } });
	bots.push(ann);
	await ann.start();
	const problem = next(host, 'recording:problem', (p) => p.name === 'Ann', 20_000);
	await ok(host, 'recording:start', {});
	const told = await problem;
	await ok(host, 'recording:stop', {});
	host.disconnect();
	return told;
}

it('every recorder port held by another process: the hosts are told the track is not recorded', { timeout: 30_000 }, async () => {
	await loadMedia();
	rmSync(ffmpeg, { force: true });
	symlinkSync(REAL_FFMPEG, ffmpeg);
	// The RTP port of each pair of the server's range (the range's 10 ports: 5 pairs).
	const squatters: Socket[] = [];
	for (let port = portBase + (portBase % 2); port + 1 <= portBase + 9; port += 2) {
		const socket = createSocket('udp4');
		await new Promise<void>((resolve, reject) => {
			socket.once('error', reject);
			socket.bind(port, () => resolve());
		});
		squatters.push(socket);
	}
	try {
		assert.deepEqual(await recordAnnsMicrophone('noports'), { name: 'Ann', source: 'microphone', reason: 'no recorder port is free' });
	} finally {
		for (const socket of squatters) socket.close();
	}
});
