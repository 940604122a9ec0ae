/**
 * Integration: recording a meeting through the real server (Socket.IO, a real mediasoup
 * worker, bots publishing real VP8 + Opus over WebRTC, real ffmpeg): only hosts may start
 * and stop (forbidden otherwise); everyone in the meeting and in the waiting room is
 * told; a participant without the `recordable` grant has no track recorded; hosts list
 * and download the files, others may not; the files play (ffprobe); webhooks say when a
 * recording started and when its files are ready.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { io } from 'socket.io-client';
import { Bot } from '../bench/bot/bot.ts';
import { loadMedia } from '../bench/bot/media.ts';
import { ParleyConnector } from '../bench/bot/parley.ts';
import { next, ok, request, startTestServer, type TestClient, type TestServer } from '../test/harness.ts';
import { decodeErrors, filesWithData, firstFrameDecodes, probe } from '../test/ffprobe.ts';
import type { WebhookEvent } from './webhooks/index.ts';
import type { RecordingInfo, RecordingListResponse, RecordingState, RoomRecordingResponse } from './protocol/index.ts';
import { randomRecorderPortBase } from '../test/ports.ts';

let t: TestServer;
let receiver: Server;
/** Webhook bodies received (recording_started / recording_finished among them). */
const hooks: WebhookEvent[] = [];
const bots: Bot[] = [];
const sockets: TestClient[] = [];
// Below the kernel's ephemeral range, where a bot's or a client's socket could hold one (test/ports.ts).
const portBase = randomRecorderPortBase(40);
// A dot in the folder's path (as in e2e/.artifacts): downloads must not take it for a dotfile.
const recordingDir = mkdtempSync(path.join(os.tmpdir(), '.parley-recordings-'));

before(async () => {
	await loadMedia();
	receiver = createServer((req, res) => {
		let body = '';
		req.on('data', (c: Buffer) => (body += c.toString()));
		req.on('end', () => {
			hooks.push(JSON.parse(body) as WebhookEvent);
			res.end('ok');
		});
	});
	await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
	t = await startTestServer({
		env: {
			PARLEY_RECORDING_DIR: recordingDir,
			PARLEY_RECORDING_RTP_PORT_MIN: String(portBase),
			PARLEY_RECORDING_RTP_PORT_MAX: String(portBase + 39),
			PARLEY_WEBHOOKS_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
			PARLEY_WEBHOOKS_SECRET: 'recording-webhook-secret-0123456789abcdef',
		},
	});
});
after(async () => {
	for (const s of sockets) s.disconnect();
	await Promise.all(bots.map((b) => b.close()));
	await t?.close();
	receiver?.close();
	rmSync(recordingDir, { recursive: true, force: true });
});

/** Connect and keep what arrives at once (the state is sent on connection). */
async function connect(token: string): Promise<{ socket: TestClient; states: RecordingState[] }> {
	const socket: TestClient = io(t.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false });
	const states: RecordingState[] = [];
	socket.on('recording:state', (s) => states.push(s));
	sockets.push(socket);
	socket.connect();
	await new Promise<void>((resolve, reject) => {
		socket.once('connect', () => resolve());
		socket.once('connect_error', reject);
	});
	return { socket, states };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

it('a host records the meeting: everyone is told, the excluded participant is not recorded, hosts download playable files', { timeout: 60_000 }, async () => {
	const room = 'rec-meeting';
	const host = await connect(t.token({ room, identity: 'host', name: 'Host', role: 'host' }));
	const guest = await connect(t.token({ room, identity: 'guest', name: 'Guest' }));
	await until('the host gets the state on entering', () => host.states.length > 0);
	assert.deepEqual(host.states[0], { active: false, startedAt: null, id: null });

	const recordable = (identity: string) => identity !== 'carol';
	const connector = new ParleyConnector({
		url: t.url,
		token: (r, identity, grants) => t.token({ room: r, identity, name: identity, grants: { ...grants, recordable: recordable(identity) } }),
	});
	for (const identity of ['alice', 'carol']) {
		const bot = new Bot({ connector, room, identity, publish: { video: 'single', audio: true } });
		bots.push(bot);
		await bot.start();
	}
	await until('4 producers', () => [...(t.sfu.rooms.get(room)?.peers.values() ?? [])].reduce((n, p) => n + p.producers.size, 0) === 4);

	// Nobody but a host may start or stop recording.
	const refused = await request(guest.socket, 'recording:start', {});
	assert.equal(refused.ok, false);
	assert.equal(!refused.ok && refused.error.code, 'forbidden');
	assert.equal(t.server.recordings.state(room).active, false);
	const notRecording = await request(host.socket, 'recording:stop', {});
	assert.equal(!notRecording.ok && notRecording.error.code, 'invalid_state');

	// The lobby (before entering) asks over HTTP with the link's token.
	const lobby = async (): Promise<RoomRecordingResponse> => {
		const res = await fetch(`${t.url}/api/rooms/${room}/recording`, { headers: { authorization: `Bearer ${t.token({ room, identity: 'later' })}` } });
		assert.equal(res.status, 200);
		return (await res.json()) as RoomRecordingResponse;
	};
	assert.equal((await lobby()).recording, false);
	const otherRoom = await fetch(`${t.url}/api/rooms/${room}/recording`, { headers: { authorization: `Bearer ${t.token({ room: 'elsewhere' })}` } });
	assert.equal(otherRoom.status, 403);

	const guestTold = next(guest.socket, 'recording:state', (s) => s.active, 10_000);
	const { recording } = await ok(host.socket, 'recording:start', {});
	assert.equal(recording.active, true);
	assert.ok(recording.id);
	assert.equal((await guestTold).id, recording.id, 'a participant is told at once');
	assert.equal((await lobby()).recording, true, 'the lobby sees it');
	const again = await request(host.socket, 'recording:start', {});
	assert.equal(!again.ok && again.error.code, 'invalid_state');

	// Someone arriving later is told on entering.
	const late = await connect(t.token({ room, identity: 'late', name: 'Late' }));
	await until('the newcomer is told', () => late.states.some((s) => s.active && s.id === recording.id));

	// Alice's two tracks are being written (ffmpeg starts slowly on a saturated machine), then 3 s more.
	await filesWithData(t.server.recordings.store.folder(room, recording.id!), 2);
	await new Promise((r) => setTimeout(r, 3000));
	const ready = new Promise<RecordingInfo>((resolve) => t.server.recordings.once('ready', resolve));
	const guestOff = next(guest.socket, 'recording:state', (s) => !s.active, 10_000);
	const refusedStop = await request(guest.socket, 'recording:stop', {});
	assert.equal(!refusedStop.ok && refusedStop.error.code, 'forbidden');
	await ok(host.socket, 'recording:stop', {});
	await guestOff;
	const info = await ready;
	assert.equal(info.stopReason, 'stopped');
	assert.deepEqual(new Set(info.files.map((f) => f.peerId)), new Set(['alice']), 'carol (recordable: false) is not recorded');
	assert.deepEqual(info.files.map((f) => f.source).sort(), ['camera', 'microphone']);

	// Hosts list and download; a participant may not.
	const hostToken = t.token({ room, identity: 'host', role: 'host' });
	const list = await fetch(`${t.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${hostToken}` } });
	assert.equal(list.status, 200);
	const { recordings } = (await list.json()) as RecordingListResponse;
	assert.equal(recordings.length, 1);
	assert.equal(recordings[0]!.files.length, 2);
	const forbidden = await fetch(`${t.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${t.token({ room, identity: 'guest' })}` } });
	assert.equal(forbidden.status, 403);
	const video = info.files.find((f) => f.kind === 'video')!;
	const url = `${t.url}/api/rooms/${room}/recordings/${info.id}/${video.file}`;
	assert.equal((await fetch(`${url}?token=${t.token({ room, identity: 'guest' })}`)).status, 403);
	assert.equal((await fetch(`${t.url}/api/rooms/${room}/recordings/${info.id}/..%2Fmanifest.json?token=${hostToken}`)).status, 404);
	const download = await fetch(`${url}?token=${hostToken}`);
	assert.equal(download.status, 200);
	assert.equal(download.headers.get('content-type'), 'video/webm');
	const bytes = (await download.arrayBuffer()).byteLength;
	assert.equal(bytes, video.bytes);

	// The backend is told: started, then finished with the files.
	await until('recording webhooks', () => hooks.some((h) => h.event === 'recording_finished' && h.recording?.id === info.id));
	assert.ok(hooks.some((h) => h.event === 'recording_started' && h.recording?.id === info.id && h.room.name === room));
	assert.equal(hooks.find((h) => h.event === 'recording_finished')?.recording?.files.length, 2);

	const folder = t.server.recordings.store.folder(room, info.id);
	const v = await probe(path.join(folder, video.file));
	const a = await probe(path.join(folder, info.files.find((f) => f.kind === 'audio')!.file));
	assert.equal(v.codec, 'vp8');
	assert.equal(a.codec, 'opus');
	assert.ok(v.durationSec > 2 && a.durationSec > 2, `video ${v.durationSec} s, audio ${a.durationSec} s`);
	assert.ok(await firstFrameDecodes(path.join(folder, video.file)));
	assert.equal(await decodeErrors(path.join(folder, video.file)), '');

	// The composed file (grid + mixed audio, MP4) is made in the background, with progress.
	const progress: number[] = [];
	const poll = setInterval(() => void t.server.recordings.store.get(room, info.id).then((i) => i?.composed && progress.push(i.composed.progress)), 200);
	const composed = info.composed?.state === 'ready' ? info : await new Promise<RecordingInfo>((resolve) => t.server.recordings.once('composed', resolve));
	clearInterval(poll);
	assert.equal(composed.composed?.state, 'ready', JSON.stringify(composed.composed));
	const span = (Math.max(...info.files.map((f) => f.endedAt)) - Math.min(...info.files.map((f) => f.startedAt))) / 1000;
	const mp4 = path.join(folder, 'composed.mp4');
	const { execFileSync } = await import('node:child_process');
	const streams = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', mp4]).toString().trim().split('\n');
	assert.deepEqual(streams.sort(), ['aac', 'h264']);
	const c = await probe(mp4);
	assert.ok(Math.abs(c.durationSec - span) < 0.5, `composed ${c.durationSec} s for ${span} s recorded`);
	assert.equal(await decodeErrors(mp4), '');
	const composedDownload = await fetch(`${t.url}/api/rooms/${room}/recordings/${info.id}/composed.mp4?token=${hostToken}`);
	assert.equal(composedDownload.status, 200);
	console.log(`composed ${c.durationSec.toFixed(2)} s (recording ${span.toFixed(2)} s); progress seen: ${progress.map((p) => p.toFixed(2)).join(' ')}`);
});

it('people in the waiting room are told the meeting is being recorded before they are let in', { timeout: 30_000 }, async () => {
	const room = 'rec-waiting';
	const host = await connect(t.token({ room, identity: 'host', name: 'Host', role: 'host' }));
	await ok(host.socket, 'host:settings', { waitingRoom: true });
	const connector = new ParleyConnector({ url: t.url, token: (r, identity, grants) => t.token({ room: r, identity, name: identity, grants: { ...grants, skipWaitingRoom: true } }) });
	const bot = new Bot({ connector, room, identity: 'pub', publish: { video: 'none', audio: true } });
	bots.push(bot);
	await bot.start();
	await until('a producer', () => (t.sfu.rooms.get(room)?.peers.size ?? 0) > 0);
	await ok(host.socket, 'recording:start', {});
	const waiting = await connect(t.token({ room, identity: 'waiter', name: 'Waiter' }));
	await until('the waiting person is told', () => waiting.states.some((s) => s.active));
	const off = next(waiting.socket, 'recording:state', (s) => !s.active, 10_000);
	await ok(host.socket, 'recording:stop', {});
	await off;
});

it('the admin API (npm run admin) starts and stops a recording; nobody in the meeting: not_found', { timeout: 30_000 }, async () => {
	const missing = await fetch(`${t.url}/admin/rooms/nobody-here/recording/start`, { method: 'POST' });
	assert.equal(missing.status, 404);
	const room = 'rec-admin';
	const connector = new ParleyConnector({ url: t.url, token: (r, identity, grants) => t.token({ room: r, identity, name: identity, grants }) });
	const bot = new Bot({ connector, room, identity: 'pub', publish: { video: 'single', audio: false } });
	bots.push(bot);
	await bot.start();
	await until('a producer', () => (t.sfu.rooms.get(room)?.peers.size ?? 0) > 0);
	const start = await fetch(`${t.url}/admin/rooms/${room}/recording/start`, { method: 'POST' });
	assert.equal(start.status, 200);
	await new Promise((r) => setTimeout(r, 2500));
	const stop = await fetch(`${t.url}/admin/rooms/${room}/recording/stop`, { method: 'POST' });
	assert.equal(stop.status, 200);
	const { recordings } = (await stop.json()) as RecordingListResponse;
	assert.equal(recordings[0]?.files.length, 1, JSON.stringify(recordings));
	assert.equal(recordings[0]?.startedBy, 'operator');
});
