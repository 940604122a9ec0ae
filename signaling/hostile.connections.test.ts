/**
 * Integration (real server, real sockets): slow and idle connections are cut, a client
 * address has a connection cap, refusing routes read no body, and limits apply per
 * identity and per address (not per socket), with typing and presence limited on their own.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { io as connect } from 'socket.io-client';
import { connectError, rawRequest, request, startTestServer, type TestClient, type TestServer } from '../test/harness.ts';
import { redisForTests } from '../test/redis.ts';
import { RateLimits } from './limits/RateLimits.ts';

/** Resolves with how long the server took to close a raw TCP connection we opened (ms). */
function closedAfter(port: number, send: string | null, limitMs: number): Promise<{ ms: number; data: string }> {
	return new Promise((resolve, reject) => {
		const started = performance.now();
		const socket = net.connect(port, '127.0.0.1', () => {
			if (send !== null) socket.write(send);
		});
		let data = '';
		socket.on('data', (d) => (data += d.toString()));
		socket.on('error', () => undefined);
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`still open after ${limitMs} ms`));
		}, limitMs);
		socket.on('close', () => {
			clearTimeout(timer);
			resolve({ ms: performance.now() - started, data });
		});
	});
}

describe('slow and idle connections', () => {
	let t: TestServer;
	let port: number;
	before(async () => {
		t = await startTestServer({
			env: { PARLEY_LIMITS_CONNECTIONS_PER_IP: '40' },
			timeouts: { headersMs: 1000, bodyMs: 500, uploadWindowMs: 400, uploadMinBytesPerWindow: 4096, socketConnectMs: 800, keepAliveMs: 2000 },
		});
		port = Number(new URL(t.url).port);
	});
	after(async () => t.close());

	it('cuts slow headers, slow bodies, stalled uploads and silent connections', async () => {
		const [headers, silent, body, upload] = await Promise.all([
			closedAfter(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 5000),
			closedAfter(port, null, 5000),
			closedAfter(port, 'POST /api/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":', 5000),
			closedAfter(
				port,
				`POST /api/rooms/slow/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token({ room: 'slow', identity: 'up' })}\r\n` +
					'Content-Type: text/plain\r\nX-File-Name: a.txt\r\nContent-Length: 100000\r\n\r\nhello',
				5000,
			),
		]);
		assert.ok(headers.ms < 2600, `slow headers cut after ${Math.round(headers.ms)} ms`);
		assert.ok(silent.ms < 2600, `a silent connection cut after ${Math.round(silent.ms)} ms`);
		assert.ok(body.ms < 2000, `a slow body cut after ${Math.round(body.ms)} ms`);
		assert.match(body.data, /^HTTP\/1.1 (404|408)/, 'answered, then closed because the body never came');
		assert.ok(upload.ms < 2000, `a stalled upload cut after ${Math.round(upload.ms)} ms`);
		assert.match(upload.data, /^HTTP\/1.1 408/);
	});

	it('closes an idle keep-alive connection once its keep-alive timeout has passed (Node adds 1 s), not before', async () => {
		const idle = await closedAfter(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 6000);
		assert.match(idle.data, /^HTTP\/1.1 200/);
		assert.match(idle.data, /Keep-Alive: timeout=2\r\n/i, 'the timeout the server advertises');
		assert.ok(idle.ms >= 1900 && idle.ms < 4500, `an idle keep-alive connection closed after ${Math.round(idle.ms)} ms (timeout 2 s)`);
	});

	it('refuses the dev token route outside dev mode without reading the body', async () => {
		const { ms, data } = await closedAfter(
			port,
			'POST /api/dev/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n',
			3000,
		);
		assert.match(data, /^HTTP\/1.1 404/);
		assert.match(data, /connection: close/i);
		assert.ok(ms < 400, `answered and closed at once (${Math.round(ms)} ms)`);
	});

	it('drops WebSockets that never authenticate', async () => {
		const sockets = Array.from({ length: 10 }, () => connect(t.url, { transports: ['websocket'], autoConnect: false, reconnection: false, forceNew: true }));
		// Open the engine connection only (no namespace CONNECT, hence no token).
		const closed = sockets.map(
			(s) =>
				new Promise<number>((resolve) => {
					const started = performance.now();
					s.io.engine?.on('close', () => resolve(performance.now() - started));
					s.io.open();
					s.io.engine.on('close', () => resolve(performance.now() - started));
				}),
		);
		const times = await Promise.all(closed);
		assert.ok(Math.max(...times) < 2500, `closed after ${Math.round(Math.max(...times))} ms`);
	});

	it('caps open connections per address, and frees them when they close', async () => {
		const open: net.Socket[] = [];
		const refused: Promise<void>[] = [];
		for (let i = 0; i < 50; i++) {
			const s = net.connect(port, '127.0.0.1');
			s.on('error', () => undefined);
			open.push(s);
			refused.push(new Promise((resolve) => s.once('close', () => resolve())));
			await new Promise((r) => s.once('connect', r));
		}
		await new Promise((r) => setTimeout(r, 200));
		const alive = open.filter((s) => !s.destroyed && s.readyState === 'open').length;
		assert.ok(alive <= 40, `${alive} of 50 connections still open (cap 40)`);
		for (const s of open) s.destroy();
		await new Promise((r) => setTimeout(r, 100));
		const res = await fetch(`${t.url}/healthz`);
		assert.equal(res.status, 200, 'served again once the connections closed');
	});
});

describe('limits per identity and per address', () => {
	let t: TestServer;
	before(async () => {
		t = await startTestServer({ env: { PARLEY_LIMITS_IP_REQUESTS_BURST: '400', PARLEY_LIMITS_IP_REQUESTS_PER_SECOND: '1' } });
	});
	after(async () => t.close());

	it('caps sockets per identity', async () => {
		const token = t.token({ room: 'ids', identity: 'many' });
		const sockets: TestClient[] = [];
		for (let i = 0; i < 4; i++) sockets.push(await t.client(token));
		const refused = await connectError(t.url, { token });
		assert.equal(refused.data?.code, 'limit_exceeded');
		sockets[0]!.disconnect();
		await new Promise((r) => setTimeout(r, 100));
		const again = await t.client(token);
		assert.equal(again.connected, true, 'a place frees up when a socket leaves');
	});

	it('chat flood control is per identity across its sockets; typing and presence have their own limits', async () => {
		const token = t.token({ room: 'flood', identity: 'flooder' });
		const sockets = await Promise.all(Array.from({ length: 4 }, () => t.client(token)));
		const victim = await t.client(t.token({ room: 'flood', identity: 'victim' }));
		let typingSeen = 0;
		victim.on('chat:typing', () => typingSeen++);
		const sends = await Promise.all(
			sockets.flatMap((s, i) =>
				Array.from({ length: 20 }, (_, j) => request(s, 'chat:send', { id: `fl-${i}-${String(j).padStart(6, '0')}`, text: 'x' })),
			),
		);
		const accepted = sends.filter((r) => r.ok).length;
		assert.ok(accepted >= 20 && accepted <= 22, `${accepted} of 80 accepted (burst 20 per identity)`);
		const typing = await Promise.all(sockets.flatMap((s) => Array.from({ length: 15 }, (_, i) => request(s, 'chat:typing', { typing: i % 2 === 0 }))));
		assert.ok(typing.filter((r) => r.ok).length <= 7, 'typing: burst 6 per identity');
		assert.ok(typing.some((r) => !r.ok && r.error.code === 'rate_limited'));
		await new Promise((r) => setTimeout(r, 200));
		assert.ok(typingSeen <= 7, `the victim received ${typingSeen} typing events`);
		const presence = await Promise.all(Array.from({ length: 20 }, (_, i) => request(sockets[0]!, 'presence:set', { state: i % 2 ? 'online' : 'away' })));
		assert.ok(presence.filter((r) => r.ok).length <= 6, 'presence: burst 5 per identity');
	});

	it('a token without the chat grant may not send typing events', async () => {
		const socket = await t.client(t.token({ room: 'nochat', identity: 'mute', grants: { chat: false } }));
		const result = await request(socket, 'chat:typing', { typing: true });
		assert.equal(!result.ok && result.error.code, 'forbidden');
	});

	it('closes a connection that sends a Socket.IO packet over 256 KiB; a smaller one is answered', async () => {
		const socket = await t.client(t.token({ room: 'big', identity: 'big' }));
		const answered = await rawRequest(socket, 'chat:send', { id: 'big-000001', text: 'x'.repeat(200 * 1024) });
		assert.equal(!answered.ok && answered.error.code, 'bad_request');
		assert.equal(socket.connected, true);
		const closed = new Promise<string>((resolve) => {
			socket.once('disconnect', resolve);
			setTimeout(() => resolve('still connected after 5 s'), 5000).unref();
		});
		socket.emit('chat:send', { id: 'big-000002', text: 'x'.repeat(300 * 1024) }, () => undefined);
		assert.equal(await closed, 'transport close');
	});

	it('requests are limited per address across identities', async () => {
		// 400 requests per address in a burst (set above): five identities from one address share them.
		const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => t.client(t.token({ room: 'ip', identity: `ip${i}` }))));
		const results = await Promise.all(
			clients.flatMap((c) => Array.from({ length: 120 }, () => request(c, 'media:getRouterRtpCapabilities', {}))),
		);
		const ok = results.filter((r) => r.ok).length;
		assert.ok(ok < 420, `${ok} of 600 served`);
		assert.ok(results.some((r) => !r.ok && r.error.code === 'rate_limited'));
	});
});

describe('rate limits on Redis', () => {
	it('are shared by every process', async () => {
		const redis = await redisForTests();
		const rates = { requests: { perSecond: 1, burst: 5 }, ipRequests: { perSecond: 1, burst: 5 }, chat: { perSecond: 1, burst: 5 }, typing: { perSecond: 1, burst: 5 }, presence: { perSecond: 1, burst: 5 } };
		const a = new RateLimits(rates, { redisUrl: redis.url });
		const b = new RateLimits(rates, { redisUrl: redis.url });
		try {
			await Promise.all([a.ready(), b.ready()]);
			const key = `k-${process.pid}-${Date.now()}`;
			const results: boolean[] = [];
			for (let i = 0; i < 8; i++) results.push(await (i % 2 ? a : b).take('chat', key));
			assert.deepEqual(results, [true, true, true, true, true, false, false, false]);
		} finally {
			await a.close();
			await b.close();
			await redis.stop();
		}
	});
});
