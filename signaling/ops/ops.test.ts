/**
 * Operating Parley against a real server (real mediasoup worker, Socket.IO, werift bots
 * over real WebRTC): /healthz and /readyz, who may read /metrics and /admin, metrics that
 * move during a call and pass `promtool check metrics`, `npm run admin -- rooms`, drain.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Bot } from '../../bench/bot/bot.ts';
import { loadMedia } from '../../bench/bot/media.ts';
import { ParleyConnector } from '../../bench/bot/parley.ts';
import { joinRoom, next, ok, request, startTestServer, type TestServer } from '../../test/harness.ts';
import type { AdminRoomsResponse, DrainState } from './index.ts';
import { createMessageStore } from '../chat/index.ts';

const run = promisify(execFile);
const ADMIN_CLI = fileURLToPath(new URL('../cli/admin.ts', import.meta.url));
const METRICS_TOKEN = 'metrics-token-0123456789';
const ADMIN_TOKEN = 'admin-token-0123456789ab';

/** One sample's value from the text exposition (labels as written, e.g. `{kind="video"}`). */
function sample(text: string, name: string, labels = ''): number {
	const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
	if (!line) throw new Error(`no sample ${name}${labels}`);
	return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(url: string): Promise<string> {
	const res = await fetch(`${url}/metrics`);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
	return res.text();
}

describe('operations', () => {
	let t: TestServer;
	const bots: Bot[] = [];

	before(async () => {
		await loadMedia();
		t = await startTestServer({
			env: {
				PARLEY_OPS_METRICS_TOKEN: METRICS_TOKEN,
				PARLEY_OPS_ADMIN_TOKEN: ADMIN_TOKEN,
				PARLEY_MEDIA_QUALITY_INTERVAL_MS: '500',
			},
		});
	});
	after(async () => {
		await Promise.all(bots.map((b) => b.close()));
		await t?.close();
	});

	it('answers /healthz and /readyz', async () => {
		const health = await fetch(`${t.url}/healthz`);
		assert.equal(health.status, 200);
		const ready = await fetch(`${t.url}/readyz`);
		assert.equal(ready.status, 200);
		const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
		assert.equal(body.status, 'ready');
		assert.deepEqual(Object.keys(body.checks).sort(), ['draining', 'store', 'workers']);
	});

	it('is not ready when the message store does not answer', async () => {
		const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-ops-'));
		const messages = createMessageStore({ dataDir });
		const s = await startTestServer({ messages });
		try {
			assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
			await messages.close();
			const res = await fetch(`${s.url}/readyz`);
			assert.equal(res.status, 503);
			const body = (await res.json()) as { checks: { store: { ok: boolean; reason?: string } } };
			assert.equal(body.checks.store.ok, false);
			assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'still alive');
		} finally {
			await s.close();
			rmSync(dataDir, { recursive: true, force: true });
		}
	});

	it('lets this machine read /metrics and /admin, others only with the bearer token', async () => {
		// A request relayed by a proxy (X-Forwarded-For) counts as coming from elsewhere.
		const remote = { 'x-forwarded-for': '203.0.113.7' };
		for (const [path, token] of [
			['/metrics', METRICS_TOKEN],
			['/admin/rooms', ADMIN_TOKEN],
		] as const) {
			assert.equal((await fetch(`${t.url}${path}`)).status, 200, `${path} from loopback`);
			const anonymous = await fetch(`${t.url}${path}`, { headers: remote });
			assert.equal(anonymous.status, 401, `${path} from elsewhere without a token`);
			assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="parley"');
			const wrong = await fetch(`${t.url}${path}`, { headers: { ...remote, authorization: `Bearer ${token}x` } });
			assert.equal(wrong.status, 401, `${path} with a wrong token`);
			const right = await fetch(`${t.url}${path}`, { headers: { ...remote, authorization: `Bearer ${token}` } });
			assert.equal(right.status, 200, `${path} with the token`);
		}
		// The metrics token does not open the admin API.
		const cross = await fetch(`${t.url}/admin/rooms`, { headers: { ...remote, authorization: `Bearer ${METRICS_TOKEN}` } });
		assert.equal(cross.status, 401);
	});

	it('refuses everyone but this machine when no token is configured', async () => {
		const bare = await startTestServer();
		try {
			const res = await fetch(`${bare.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7', authorization: 'Bearer anything-at-all-123' } });
			assert.equal(res.status, 403);
			assert.equal((await fetch(`${bare.url}/metrics`)).status, 200);
		} finally {
			await bare.close();
		}
	});

	it('reports a real call in /metrics (valid for promtool) and in `npm run admin -- rooms`', { timeout: 30_000 }, async () => {
		const before = await scrape(t.url);
		assert.equal(sample(before, 'parley_rooms'), 0);
		assert.equal(sample(before, 'parley_workers'), 1);
		const bytesBefore = sample(before, 'parley_media_bytes_total', '{direction="received"}');

		const connector = new ParleyConnector({
			url: t.url,
			token: (room, identity, grants) => t.token({ room, identity, name: identity, grants }),
		});
		const publisher = new Bot({ connector, room: 'ops', identity: 'pub', publish: { video: 'single', audio: true } });
		bots.push(publisher);
		await publisher.start();
		const subscriber = new Bot({ connector, room: 'ops', identity: 'sub', subscribe: true });
		bots.push(subscriber);
		await subscriber.start();
		await subscriber.connected();
		// A chat message through the real handler (its ack latency is measured).
		const chatter = await t.client(t.token({ room: 'ops', identity: 'chatter' }));
		await ok(chatter, 'chat:send', { id: 'ops-msg-0001', text: 'hello' });
		await new Promise((r) => setTimeout(r, 2500));

		const during = await scrape(t.url);
		assert.equal(sample(during, 'parley_rooms'), 1);
		assert.equal(sample(during, 'parley_peers'), 2);
		assert.equal(sample(during, 'parley_producers', '{kind="video"}'), 1);
		assert.equal(sample(during, 'parley_producers', '{kind="audio"}'), 1);
		assert.equal(sample(during, 'parley_consumers', '{kind="video"}'), 1);
		assert.equal(sample(during, 'parley_consumers', '{kind="audio"}'), 1);
		assert.equal(sample(during, 'parley_worker_consumers', '{worker="0"}'), 2);
		assert.ok(sample(during, 'parley_transports') >= 2);
		assert.equal(sample(during, 'parley_socketio_connections'), 3);
		assert.ok(sample(during, 'parley_media_bytes_total', '{direction="received"}') > bytesBefore + 100_000, 'bytes in grew');
		assert.ok(sample(during, 'parley_media_bytes_total', '{direction="sent"}') > 100_000, 'bytes out grew');
		assert.ok(sample(during, 'parley_media_rtp_packets_total', '{direction="received"}') > 200, 'packets in');
		assert.ok(sample(during, 'parley_media_rtp_packets_total', '{direction="sent"}') > 200, 'packets out');
		assert.ok(sample(during, 'parley_worker_cpu_seconds_total', '{worker="0",mode="user"}') > 0, 'worker CPU');
		assert.ok(sample(during, 'parley_worker_pid', '{worker="0"}') === t.sfu.pool.workers[0]!.worker.pid);
		assert.equal(sample(during, 'parley_join_duration_seconds_count'), 1, 'the subscriber\'s join was timed');
		const join = sample(during, 'parley_join_duration_seconds_sum');
		assert.ok(join > 0 && join < 5, `join latency ${join} s`);
		assert.equal(sample(during, 'parley_chat_ack_duration_seconds_count'), 1);
		assert.equal(sample(during, 'parley_signaling_request_duration_seconds_count', '{request="chat:send",outcome="ok"}'), 1, 'the chat request was timed');
		assert.ok(sample(during, 'parley_media_rtp_packets_lost_total', '{direction="received"}') >= 0, 'losses in are exposed');
		assert.ok(sample(during, 'parley_media_rtp_packets_lost_total', '{direction="sent"}') >= 0, 'losses out are exposed');
		// The werift bots' receiver reports give mediasoup no round trip (0, which is not a
		// measurement and is not sampled): the histogram is there; e2e/call.spec.ts checks that
		// browsers' round trips reach it.
		assert.ok(sample(during, 'parley_peer_rtt_seconds_count') >= 0, 'RTT histogram exposed');
		assert.ok(sample(during, 'parley_peer_uplink_loss_ratio_count') > 0, 'loss sampled');
		assert.equal(sample(during, 'parley_unhandled_rejections_total'), 0, 'the stray-rejection counter is exposed (processGuard.test.ts: what moves it)');

		const check = spawnSync('promtool', ['check', 'metrics'], { input: during, encoding: 'utf8' });
		assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus; scripts/lib.sh installs it)');
		assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);

		// Counters only grow.
		await new Promise((r) => setTimeout(r, 500));
		const later = await scrape(t.url);
		assert.ok(sample(later, 'parley_media_bytes_total', '{direction="sent"}') >= sample(during, 'parley_media_bytes_total', '{direction="sent"}'));

		const { stdout } = await run(process.execPath, [ADMIN_CLI, 'rooms', '--url', t.url]);
		assert.match(stdout, /^WORKER\s+PID/m);
		assert.match(stdout, /1 room\(s\), 2 participant\(s\); not draining/);
		assert.match(stdout, /^ {2}pub\s+pub\s+0\s+\d+/m);
		assert.match(stdout, /^ {2}sub\s+sub\s+0\s+/m);
		const json = JSON.parse((await run(process.execPath, [ADMIN_CLI, 'rooms', '--json', '--url', t.url])).stdout) as AdminRoomsResponse;
		const pub = json.rooms[0]!.peers.find((p) => p.id === 'pub')!;
		assert.ok(pub.sendKbps > 50, `publisher uplink ${pub.sendKbps} kbps`);
		const sub = json.rooms[0]!.peers.find((p) => p.id === 'sub')!;
		assert.ok(sub.recvKbps > 50, `subscriber downlink ${sub.recvKbps} kbps`);
		assert.equal(json.workers[0]!.pid, t.sfu.pool.workers[0]!.worker.pid);
		assert.equal(json.workers[0]!.consumers, 2);

		await Promise.all(bots.splice(0).map((b) => b.close()));
		chatter.disconnect();
	});

	it('drains: not ready, no new rooms, meetings go on until the grace period ends them', { timeout: 20_000 }, async () => {
		const alice = await t.client(t.token({ room: 'standup', identity: 'alice' }));
		await joinRoom(alice);
		const ended = next(alice, 'session:ended', () => true, 10_000);
		const disconnected = new Promise<string>((resolve) => alice.once('disconnect', resolve));

		const started = await fetch(`${t.url}/admin/drain`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ graceMs: 2500 }),
		});
		assert.equal(started.status, 200);
		const state = (await started.json()) as DrainState;
		assert.equal(state.draining, true);
		assert.equal(state.peers, 1);
		const ready = await fetch(`${t.url}/readyz`);
		assert.equal(ready.status, 503);
		const body = (await ready.json()) as { checks: { draining: { ok: boolean } } };
		assert.equal(body.checks.draining.ok, false);
		assert.match(await scrape(t.url), /^parley_draining 1$/m);

		// A new meeting is refused with a clear, typed answer; the running one takes its people.
		const carol = await t.client(t.token({ room: 'new-meeting', identity: 'carol' }));
		const refused = await request(carol, 'media:getRouterRtpCapabilities', {});
		assert.equal(refused.ok, false);
		assert.equal(!refused.ok && refused.error.code, 'unavailable');
		assert.match(!refused.ok ? refused.error.message : '', /maintenance/);
		const bob = await t.client(t.token({ room: 'standup', identity: 'bob' }));
		await joinRoom(bob);

		assert.deepEqual(await ended, { reason: 'server-shutdown' });
		assert.equal(await disconnected, 'io server disconnect');
		assert.equal(t.sfu.rooms.size, 0);
		// The command line says where the drain is.
		const { stdout } = await run(process.execPath, [ADMIN_CLI, 'drain', '--url', t.url]);
		assert.match(stdout, /drained: no meetings left/);
	});
});
