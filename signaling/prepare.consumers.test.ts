/**
 * Integration: consumers prepared in the lobby (POST /api/media/prepare with the Device's
 * receive capabilities), against a real mediasoup worker (two in the last test) and the real
 * server: who gets them, what the lobby learns, that room:join adopts and resumes them, and
 * that what changed meanwhile (a producer gone, one new) is right in the join's answer.
 * The browser side is e2e/join-timing.spec.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaPrepareResponse, RtpCapabilities } from './protocol/index.ts';
import { ok, startTestServer, syntheticRtpParameters, type TestClient, type TestServer } from '../test/harness.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer({ prepare: { ttlMs: 5000, max: 10 } });
});
after(async () => {
	await t.close();
});

async function prepare(s: TestServer, token: string, body?: unknown): Promise<{ status: number; body: MediaPrepareResponse | null }> {
	const response = await fetch(`${s.url}/api/media/prepare`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});
	const text = await response.text();
	return { status: response.status, body: text ? (JSON.parse(text) as MediaPrepareResponse) : null };
}

/** `identity` in `room` publishing a synthetic camera and microphone. */
async function publisher(s: TestServer, room: string, identity: string, role?: 'host'): Promise<{ socket: TestClient; caps: RtpCapabilities; camera: string; microphone: string }> {
	const socket = await s.client(s.token({ room, identity, name: identity, ...(role ? { role } : {}) }));
	const { rtpCapabilities: caps } = await ok(socket, 'media:getRouterRtpCapabilities', {});
	await ok(socket, 'room:join', { rtpCapabilities: caps });
	const send = await ok(socket, 'media:createTransport', { direction: 'send' });
	const ssrc = 1000 + Math.floor(Math.random() * 1e6);
	const camera = await ok(socket, 'media:produce', { transportId: send.id, kind: 'video', rtpParameters: syntheticRtpParameters('video', ssrc), source: 'camera' });
	const microphone = await ok(socket, 'media:produce', { transportId: send.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', ssrc + 7), source: 'microphone' });
	return { socket, caps, camera: camera.producerId, microphone: microphone.producerId };
}

describe('consumers prepared in the lobby', () => {
	it('with the lobby\'s capabilities: a paused consumer of each producer, saying nothing of whose; the join adopts and resumes them', async () => {
		const room = 'prepc-join';
		const alice = await publisher(t, room, 'alice');
		const bobToken = t.token({ room, identity: 'bob', name: 'Bob' });
		const { status, body: ready } = await prepare(t, bobToken, { rtpCapabilities: alice.caps });
		assert.equal(status, 200);
		const consumers = ready?.consumers ?? [];
		assert.deepEqual(consumers.map((c) => c.producerId).sort(), [alice.camera, alice.microphone].sort());
		assert.deepEqual(consumers.map((c) => c.streamGroup), ['g0', 'g0'], 'one person\'s camera and microphone play in sync');
		for (const c of consumers) assert.deepEqual(Object.keys(c).sort(), ['id', 'kind', 'producerId', 'rtpParameters', 'streamGroup'], 'who publishes is not said before the join');

		const bob = await t.client(bobToken);
		const joined = await ok(bob, 'room:join', { rtpCapabilities: alice.caps, receive: true, prepared: ready!.transport.id });
		assert.equal(joined.receive?.transport.id, ready!.transport.id);
		const answered = joined.receive?.consumers ?? [];
		assert.deepEqual(answered.map((c) => c.id).sort(), consumers.map((c) => c.id).sort(), 'the prepared consumers, no new ones');
		for (const c of answered) {
			assert.equal(c.resumed, true);
			assert.equal(c.peerId, 'alice');
		}
		const peer = t.sfu.rooms.get(room)!.peer('bob');
		for (const c of answered) assert.equal(peer.consumer(c.id).paused, false, `${c.kind} resumed by the join`);
		// They are Bob's like any other: viewports, closing.
		const video = answered.find((c) => c.kind === 'video')!;
		await ok(bob, 'media:setViewports', { viewports: [{ consumerId: video.id, width: 0, height: 0, visible: false }] });
		assert.equal(peer.consumer(video.id).paused, true, 'a hidden tile pauses it');
		await ok(bob, 'media:closeConsumer', { consumerId: video.id });
		assert.equal(peer.consumers.has(video.id), false);
		for (const s of [alice.socket, bob]) s.disconnect();
	});

	it('a producer gone while in the lobby takes its consumer; one that came is consumed by the join as usual', async () => {
		const room = 'prepc-changes';
		const alice = await publisher(t, room, 'alice');
		const carolToken = t.token({ room, identity: 'carol' });
		const { body: ready } = await prepare(t, carolToken, { rtpCapabilities: alice.caps });
		assert.equal(ready?.consumers?.length, 2);
		await ok(alice.socket, 'media:closeProducer', { producerId: alice.microphone });
		const dave = await publisher(t, room, 'dave');
		const carol = await t.client(carolToken);
		const joined = await ok(carol, 'room:join', { rtpCapabilities: alice.caps, receive: true, prepared: ready!.transport.id });
		const answered = joined.receive?.consumers ?? [];
		const byProducer = new Map(answered.map((c) => [c.producerId, c]));
		assert.equal(byProducer.has(alice.microphone), false, 'the closed microphone');
		assert.equal(byProducer.get(alice.camera)?.resumed, true, 'the prepared camera');
		assert.equal(byProducer.get(alice.camera)?.id, ready!.consumers!.find((c) => c.producerId === alice.camera)!.id);
		for (const id of [dave.camera, dave.microphone]) {
			assert.ok(byProducer.has(id), 'a producer that came meanwhile');
			assert.equal(byProducer.get(id)?.resumed, undefined, 'made by the join: the client resumes it');
		}
		for (const s of [alice.socket, dave.socket, carol]) s.disconnect();
	});

	it('none for someone who would wait (waiting room) or is locked out; a token that skips the waiting room gets them', async () => {
		const room = 'prepc-admission';
		const host = await publisher(t, room, 'hosta', 'host');
		await ok(host.socket, 'host:settings', { waitingRoom: true });
		const waiting = await prepare(t, t.token({ room, identity: 'erin' }), { rtpCapabilities: host.caps });
		assert.equal(waiting.status, 200, 'the transport is still prepared');
		assert.equal(waiting.body?.consumers, undefined);
		const skipping = await prepare(t, t.token({ room, identity: 'fred', grants: { skipWaitingRoom: true } }), { rtpCapabilities: host.caps });
		assert.equal(skipping.body?.consumers?.length, 2);
		const cohost = await prepare(t, t.token({ room, identity: 'gina', role: 'host' }), { rtpCapabilities: host.caps });
		assert.equal(cohost.body?.consumers?.length, 2, 'a host goes straight in');
		await ok(host.socket, 'host:settings', { waitingRoom: false, locked: true });
		const locked = await prepare(t, t.token({ room, identity: 'hank', grants: { skipWaitingRoom: true } }), { rtpCapabilities: host.caps });
		assert.equal(locked.body?.consumers, undefined);
		host.socket.disconnect();
	});

	it('checks the body: bad capabilities are a 400; no body (an older page) prepares the transport only', async () => {
		const room = 'prepc-body';
		const alice = await publisher(t, room, 'alice');
		const token = t.token({ room, identity: 'ivan' });
		for (const bad of [{ rtpCapabilities: { codecs: 'vp8' } }, { rtpCapabilities: alice.caps, extra: 1 }, [1, 2]]) {
			assert.equal((await prepare(t, token, bad)).status, 400, JSON.stringify(bad));
		}
		// A body over 32 kB (a browser's capabilities are 2-6 kB): refused before it is parsed.
		const huge = { rtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, parameters: { x: 'y'.repeat(40_000) } }] } };
		assert.equal((await prepare(t, token, huge)).status, 413);
		const bare = await prepare(t, token);
		assert.equal(bare.status, 200);
		assert.equal(bare.body?.consumers, undefined);
		// Capabilities that can receive nothing the room has: no consumers, still a transport.
		const none = await prepare(t, token, { rtpCapabilities: { codecs: [], headerExtensions: [] } });
		assert.equal(none.status, 200);
		assert.equal(none.body?.consumers, undefined);
		alice.socket.disconnect();
	});
});

describe('consumers prepared per lobby', () => {
	let s: TestServer;
	before(async () => {
		s = await startTestServer({ prepare: { ttlMs: 5000, max: 10, consumers: 3 } });
	});
	after(async () => {
		await s.close();
	});

	it('are bounded (24 by default, 3 here): the join consumes the rest', async () => {
		const room = 'prepc-cap';
		const alice = await publisher(s, room, 'alice');
		const bert = await publisher(s, room, 'bert');
		const token = s.token({ room, identity: 'jill' });
		const { body: ready } = await prepare(s, token, { rtpCapabilities: alice.caps });
		assert.equal(ready?.consumers?.length, 3);
		const jill = await s.client(token);
		const joined = await ok(jill, 'room:join', { rtpCapabilities: alice.caps, receive: true, prepared: ready!.transport.id });
		const answered = joined.receive?.consumers ?? [];
		assert.deepEqual(answered.map((c) => c.producerId).sort(), [alice.camera, alice.microphone, bert.camera, bert.microphone].sort());
		assert.equal(answered.filter((c) => c.resumed).length, 3, 'the prepared ones resumed, the fourth made by the join');
		for (const x of [alice.socket, bert.socket, jill]) x.disconnect();
	});
});

describe('consumers prepared on another worker than their producer', () => {
	let s: TestServer;
	before(async () => {
		// Two workers, every peer where there is most room, pipes closed soon after their last use.
		s = await startTestServer({
			env: { PARLEY_MEDIA_WORKERS: '2', PARLEY_PLACEMENT_SPREAD_CONSUMERS: '0', PARLEY_PLACEMENT_PIPE_IDLE_MS: '50' },
			prepare: { ttlMs: 5000, max: 10 },
		});
	});
	after(async () => {
		await s.close();
	});

	it('hold their pipes while the lobby waits, and hand them to the peer at the join', async () => {
		const room = 'prepc-pipes';
		const alice = await publisher(s, room, 'alice');
		const aliceWorker = s.sfu.rooms.get(room)!.peer('alice').workerIndex;
		const workerOf = async (transportId: string): Promise<number | undefined> => {
			for (const w of s.sfu.pool.workers) if ((await w.webRtcServer.dump()).webRtcTransportIds.includes(transportId)) return w.index;
			return undefined;
		};
		let identity = '';
		let ready: MediaPrepareResponse | null = null;
		// The placement picks a worker by headroom: a few lobbies until one is on the other worker.
		for (let i = 0; i < 6 && !ready; i++) {
			identity = `lobby${i}`;
			const { body } = await prepare(s, s.token({ room, identity }), { rtpCapabilities: alice.caps });
			if (body && (await workerOf(body.transport.id)) !== aliceWorker) ready = body;
		}
		assert.ok(ready, 'a lobby prepared on the other worker');
		assert.equal(ready.consumers?.length, 2);
		// Another lobby goes (the room sweeps its pipes then), and past the pipes' idle time the
		// waiting lobby's consumers still have theirs.
		const sweeperToken = s.token({ room, identity: 'sweeper' });
		const { body: sweeper } = await prepare(s, sweeperToken, { rtpCapabilities: alice.caps });
		const released = await fetch(`${s.url}/api/media/prepare/release`, {
			method: 'POST',
			headers: { authorization: `Bearer ${sweeperToken}`, 'content-type': 'application/json' },
			body: JSON.stringify({ transportId: sweeper!.transport.id }),
		});
		assert.equal(released.status, 204);
		await new Promise((resolve) => setTimeout(resolve, 200));
		const socket = await s.client(s.token({ room, identity }));
		const joined = await ok(socket, 'room:join', { rtpCapabilities: alice.caps, receive: true, prepared: ready.transport.id });
		assert.deepEqual((joined.receive?.consumers ?? []).map((c) => c.resumed), [true, true]);
		const peer = s.sfu.rooms.get(room)!.peer(identity);
		assert.notEqual(peer.workerIndex, aliceWorker, 'the peer is where its lobby was prepared');
		for (const c of joined.receive!.consumers) assert.equal(peer.consumer(c.id).closed, false);
		// And after the join, still (they are the peer's now).
		await new Promise((resolve) => setTimeout(resolve, 200));
		for (const c of joined.receive!.consumers) assert.equal(peer.consumer(c.id).closed, false);
		for (const x of [alice.socket, socket]) x.disconnect();
	});
});
