/**
 * Integration: receive transports prepared in the lobby (POST /api/media/prepare), against a
 * real mediasoup worker and the real server: what is prepared, who may connect and use it,
 * that room:join takes it (consumers on it, no second transport), and that it is bounded
 * (one per identity, a cap per node, a lifetime). The browser side (ICE and DTLS done over
 * the data channel before Join) is e2e/join-timing.spec.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaPrepareResponse } from './protocol/index.ts';
import { ok, request, startTestServer, syntheticRtpParameters, type TestClient, type TestServer } from '../test/harness.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer({ prepare: { ttlMs: 1500, max: 3 } });
});
after(async () => {
	await t.close();
});

const dtlsParameters = { role: 'client' as const, fingerprints: [{ algorithm: 'sha-256', value: 'AB:'.repeat(31) + 'AB' }] };

async function prepare(token: string | null): Promise<{ status: number; body: MediaPrepareResponse | { error: { code: string } } | null }> {
	const response = await fetch(`${t.url}/api/media/prepare`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
	const text = await response.text();
	return { status: response.status, body: text ? (JSON.parse(text) as MediaPrepareResponse) : null };
}

async function prepared(token: string): Promise<MediaPrepareResponse> {
	const { status, body } = await prepare(token);
	assert.equal(status, 200, JSON.stringify(body));
	return body as MediaPrepareResponse;
}

async function connect(token: string, body: unknown): Promise<{ status: number; code?: string }> {
	const response = await fetch(`${t.url}/api/media/prepare/connect`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const text = await response.text();
	return { status: response.status, ...(text ? { code: (JSON.parse(text) as { error: { code: string } }).error.code } : {}) };
}

/** Alice in `room`, publishing a (synthetic) camera. */
async function publisher(room: string): Promise<{ socket: TestClient; producerId: string }> {
	const socket = await t.client(t.token({ room, identity: 'alice', name: 'Alice' }));
	const { rtpCapabilities } = await ok(socket, 'media:getRouterRtpCapabilities', {});
	await ok(socket, 'room:join', { rtpCapabilities });
	const send = await ok(socket, 'media:createTransport', { direction: 'send' });
	const { producerId } = await ok(socket, 'media:produce', { transportId: send.id, kind: 'video', rtpParameters: syntheticRtpParameters('video', 4242), source: 'camera' });
	return { socket, producerId };
}

describe('POST /api/media/prepare', () => {
	it('refuses a missing or bad token, and a token that may not receive', async () => {
		assert.equal((await prepare(null)).status, 401);
		assert.equal((await prepare('not.a.token')).status, 401);
		const noSubscribe = await prepare(t.token({ room: 'prep-auth', identity: 'x', grants: { subscribe: false } }));
		assert.equal(noSubscribe.status, 403);
	});

	it('prepares nothing for a meeting nobody is in (204)', async () => {
		const { status, body } = await prepare(t.token({ room: 'prep-empty', identity: 'bob' }));
		assert.equal(status, 204);
		assert.equal(body, null);
		assert.equal(t.sfu.rooms.has('prep-empty'), false, 'no room is opened for it');
	});

	it('room:join takes the prepared transport: the consumers are on it, no second transport is made', async () => {
		const room = 'prep-join';
		const { socket: alice, producerId } = await publisher(room);
		const bobToken = t.token({ room, identity: 'bob', name: 'Bob' });
		const ready = await prepared(bobToken);
		assert.ok(ready.transport.sctpParameters, 'a data channel to negotiate');
		assert.equal(ready.probe.label, 'parley-standby');
		assert.ok(ready.transport.iceCandidates.length >= 1);
		assert.ok(ready.expiresInMs > 0);

		// Someone else cannot connect it; its owner can, once.
		const carolToken = t.token({ room, identity: 'carol', name: 'Carol' });
		assert.equal((await connect(carolToken, { transportId: ready.transport.id, dtlsParameters })).status, 404);
		assert.deepEqual(await connect(bobToken, { transportId: ready.transport.id, dtlsParameters: { fingerprints: [] } }), { status: 400, code: 'bad_request' });
		assert.deepEqual(await connect(bobToken, [ready.transport.id]), { status: 400, code: 'bad_request' });
		const garbled = await fetch(`${t.url}/api/media/prepare/connect`, { method: 'POST', headers: { authorization: `Bearer ${bobToken}`, 'content-type': 'application/json' }, body: '{"transportId":' });
		assert.equal(garbled.status, 400);
		assert.equal(((await garbled.json()) as { error: { code: string } }).error.code, 'bad_request');
		assert.equal((await connect(bobToken, { transportId: ready.transport.id, dtlsParameters })).status, 204);
		assert.deepEqual(await connect(bobToken, { transportId: ready.transport.id, dtlsParameters }), { status: 409, code: 'invalid_state' });

		// Carol names Bob's transport in her join: not hers, so she gets her own.
		const carol = await t.client(carolToken);
		const caps = (await ok(carol, 'media:getRouterRtpCapabilities', {})).rtpCapabilities;
		const carolJoined = await ok(carol, 'room:join', { rtpCapabilities: caps, receive: true, prepared: ready.transport.id });
		assert.notEqual(carolJoined.receive?.transport.id, ready.transport.id);

		const bob = await t.client(bobToken);
		const joined = await ok(bob, 'room:join', { rtpCapabilities: caps, receive: true, prepared: ready.transport.id });
		assert.equal(joined.receive?.transport.id, ready.transport.id, 'the prepared transport is the receive transport');
		assert.deepEqual(joined.receive?.consumers.map((c) => c.producerId), [producerId]);
		const peer = t.sfu.rooms.get(room)!.peer('bob');
		assert.deepEqual([...peer.transports.keys()], [ready.transport.id], 'no other transport was opened');
		// It is Bob's like any other now: resumed, restarted, closed through the socket.
		await ok(bob, 'media:resumeConsumer', { consumerId: joined.receive!.consumers[0]!.id });
		await ok(bob, 'media:restartIce', { transportId: ready.transport.id });
		// Connected already (before the join): a second connect is refused as for any transport.
		const again = await request(bob, 'media:connectTransport', { transportId: ready.transport.id, dtlsParameters });
		assert.equal(!again.ok && again.error.code, 'invalid_state');
		// And it is not taken twice (the same id in a later join of the same connection).
		const rejoined = await ok(bob, 'room:join', { rtpCapabilities: caps, receive: true, prepared: ready.transport.id });
		assert.notEqual(rejoined.receive?.transport.id, ready.transport.id);
		for (const s of [alice, bob, carol]) s.disconnect();
	});

	it('one per identity (a newer one replaces the older), a cap per node, closed after its lifetime', async () => {
		const room = 'prep-bounds';
		const { socket: alice } = await publisher(room);
		const transports = (): number => [...t.sfu.rooms.get(room)!.peers.values()].reduce((n, p) => n + p.transports.size, 0);
		const before = transports();
		const bobToken = t.token({ room, identity: 'bob' });
		const first = await prepared(bobToken);
		const second = await prepared(bobToken);
		assert.notEqual(first.transport.id, second.transport.id);
		assert.equal((await connect(bobToken, { transportId: first.transport.id, dtlsParameters })).status, 404, 'the older one is closed');
		// The cap (3 here) counts what is waiting for a join: Bob's one, then two more, then refused.
		await prepared(t.token({ room, identity: 'u1' }));
		await prepared(t.token({ room, identity: 'u2' }));
		const refused = await prepare(t.token({ room, identity: 'u3' }));
		assert.equal(refused.status, 429);
		// Bob replacing his own is still allowed at the cap.
		const third = await prepared(bobToken);
		// Operators see them.
		assert.match(await (await fetch(`${t.url}/metrics`)).text(), /^parley_prepared_transports 3$/m);
		// None of them is a peer's transport.
		assert.equal(transports(), before);
		// After the lifetime (1.5 s here) they are closed: nothing left to connect, and room for new ones.
		await new Promise((resolve) => setTimeout(resolve, 1700));
		assert.equal((await connect(bobToken, { transportId: third.transport.id, dtlsParameters })).status, 404);
		assert.equal((await prepare(t.token({ room, identity: 'u3' }))).status, 200);
		alice.disconnect();
	});
});

describe('a join that does not name its prepared connection', () => {
	it('closes it at once (not at its expiry): it would hold the publishers\' encoders up for nothing', async () => {
		const room = 'prep-unnamed';
		const { socket: alice } = await publisher(room);
		const daveToken = t.token({ room, identity: 'dave' });
		const ready = await prepared(daveToken);
		const dave = await t.client(daveToken);
		const { rtpCapabilities } = await ok(dave, 'media:getRouterRtpCapabilities', {});
		const joined = await ok(dave, 'room:join', { rtpCapabilities, receive: true });
		assert.notEqual(joined.receive?.transport.id, ready.transport.id);
		assert.equal((await connect(daveToken, { transportId: ready.transport.id, dtlsParameters })).status, 404, 'closed');
		for (const s of [alice, dave]) s.disconnect();
	});
});

describe('prepared receive transports per client address', () => {
	let s: TestServer;
	before(async () => {
		s = await startTestServer({ env: { PARLEY_LIMITS_PREPARED_PER_ADDRESS: '2' }, prepare: { ttlMs: 5000, max: 100 } });
	});
	after(async () => {
		await s.close();
	});

	it('one address holds a few at once (an invitation lets it mint identities); its own replacement still goes', async () => {
		const room = 'prep-address';
		const alice = await s.client(s.token({ room, identity: 'alice', name: 'Alice' }));
		const { rtpCapabilities } = await ok(alice, 'media:getRouterRtpCapabilities', {});
		await ok(alice, 'room:join', { rtpCapabilities });
		const post = async (identity: string): Promise<number> =>
			(await fetch(`${s.url}/api/media/prepare`, { method: 'POST', headers: { authorization: `Bearer ${s.token({ room, identity })}` } })).status;
		assert.equal(await post('g1'), 200);
		assert.equal(await post('g2'), 200);
		assert.equal(await post('g3'), 429, 'a third identity from the same address');
		assert.equal(await post('g2'), 200, 'replacing its own');
		alice.disconnect();
	});
});

describe('a lobby that goes without joining', () => {
	const release = async (token: string, body: unknown): Promise<number> =>
		(
			await fetch(`${t.url}/api/media/prepare/release`, {
				method: 'POST',
				headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
				body: JSON.stringify(body),
			})
		).status;

	it('releases its prepared transport: closed at once; only by its owner, and not once a join took it', async () => {
		const room = 'prep-release';
		const { socket: alice } = await publisher(room);
		const bobToken = t.token({ room, identity: 'bob', name: 'Bob' });
		const ready = await prepared(bobToken);
		assert.equal(await release(bobToken, { transportId: 42 }), 400);
		assert.equal(await release(bobToken, { transportId: ready.transport.id, extra: true }), 400);
		assert.equal(await release('not.a.token', { transportId: ready.transport.id }), 401);
		// Someone else's release is answered alike, and closes nothing.
		assert.equal(await release(t.token({ room, identity: 'carol' }), { transportId: ready.transport.id }), 204);
		assert.equal((await connect(bobToken, { transportId: ready.transport.id, dtlsParameters })).status, 204, 'still open');
		assert.equal(await release(bobToken, { transportId: ready.transport.id }), 204);
		assert.equal((await connect(bobToken, { transportId: ready.transport.id, dtlsParameters })).status, 404, 'closed');
		assert.equal(await release(bobToken, { transportId: ready.transport.id }), 204, 'again: nothing to do');

		// A release that crosses the join (the page went right after the click) leaves the peer's transport alone.
		const taken = await prepared(bobToken);
		const bob = await t.client(bobToken);
		const { rtpCapabilities } = await ok(bob, 'media:getRouterRtpCapabilities', {});
		const joined = await ok(bob, 'room:join', { rtpCapabilities, receive: true, prepared: taken.transport.id });
		assert.equal(joined.receive?.transport.id, taken.transport.id);
		assert.equal(await release(bobToken, { transportId: taken.transport.id }), 204);
		const transport = t.sfu.rooms.get(room)!.peer('bob')!.transports.get(taken.transport.id);
		assert.ok(transport && !transport.closed, 'the peer keeps it');
		for (const s of [alice, bob]) s.disconnect();
	});

	it("closes by itself once the browser's connection goes (DTLS closed or failed, ICE consent expired); a taken one is its peer's", async () => {
		const room = 'prep-gone';
		const { socket: alice } = await publisher(room);
		const sfuRoom = t.sfu.rooms.get(room)!;
		// What the worker tells of a lobby page that closed (e2e/join-timing.spec.ts has the real browser).
		for (const [event, state, reason] of [
			['dtlsstatechange', 'closed', 'dtls-closed'],
			['dtlsstatechange', 'failed', 'dtls-failed'],
			['icestatechange', 'disconnected', 'ice-disconnected'],
		] as const) {
			const receive = await sfuRoom.prepareReceive();
			const gone: string[] = [];
			receive.on('gone', (why) => gone.push(why));
			receive.transport.emit(event, state);
			assert.deepEqual(gone, [reason], `${event} ${state}`);
			assert.ok(receive.done && receive.transport.closed, `${event} ${state}: closed`);
		}
		const receive = await sfuRoom.prepareReceive();
		const transport = receive.take()?.transport;
		assert.ok(transport);
		transport.emit('dtlsstatechange', 'closed');
		assert.equal(transport.closed, false, 'taken: its peer decides');
		transport.close();
		alice.disconnect();
	});
});
