/**
 * Recording when its recorder cannot run: the server's ffmpeg path points at nothing. A host's
 * Record is refused with `unavailable` and a clear message (before, the recording showed as
 * running while every track's ffmpeg failed to start: nothing recorded, nobody told), nothing
 * shows as recording; once the binary is there, recording starts without a restart.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { joinRoom, ok, request, startTestServer, type TestServer } from '../test/harness.ts';
import { randomRecorderPortBase } from '../test/ports.ts';

let t: TestServer;
const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-noffmpeg-'));
const ffmpeg = path.join(dir, 'bin', 'ffmpeg');

before(async () => {
	const ports = randomRecorderPortBase(10);
	t = await startTestServer({
		env: { PARLEY_RECORDING_FFMPEG_PATH: ffmpeg, PARLEY_RECORDING_RTP_PORT_MIN: String(ports), PARLEY_RECORDING_RTP_PORT_MAX: String(ports + 9) },
	});
});

after(async () => {
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
	const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
	execFileSync('mkdir', ['-p', path.dirname(ffmpeg)]);
	symlinkSync(real, ffmpeg);
	const started = await ok(host, 'recording:start', {});
	assert.equal(started.recording.active, true);
	await ok(host, 'recording:stop', {});
	host.disconnect();
});
