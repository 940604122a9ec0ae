/**
 * Integration: a real mediasoup worker behind the real Socket.IO server, driven by real
 * Socket.IO clients. Media negotiation uses synthetic RTP parameters (no browser), so
 * these tests cover the signaling contract; the browser E2E tests cover media.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import type { ServerInfoResponse } from './protocol/index.ts';
import {
	connectError,
	joinRoom,
	next,
	rawRequest,
	ok,
	request,
	startTestServer,
	syntheticRtpParameters,
	type TestClient,
	type TestServer,
} from '../test/harness.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer();
});
after(async () => {
	await t.close();
});

describe('handshake', () => {
	it('refuses a connection without a token', async () => {
		const error = await connectError(t.url, {});
		assert.equal(error.data?.code, 'unauthorized');
		assert.match(error.message, /no token/);
	});

	it('refuses expired, forged, alg:none and wrong-audience tokens', async () => {
		const secret = t.config.auth.jwtSecrets[0]!;
		const claims = { sub: 'x', room: 'r1', name: 'X' };
		const base = { audience: t.config.auth.audience, issuer: t.config.auth.issuer };
		const cases: [string, string, RegExp][] = [
			['expired', jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, secret, base), /expired/],
			['wrong secret', jwt.sign(claims, 'another-secret-0123456789abcdef0123456789', { ...base, expiresIn: 60 }), /signature/],
			['alg none', jwt.sign(claims, '', { ...base, algorithm: 'none', expiresIn: 60 }), /invalid token/],
			['wrong audience', jwt.sign(claims, secret, { ...base, audience: 'other', expiresIn: 60 }), /audience/],
			['no exp', jwt.sign(claims, secret, base), /exp/],
			['garbage', 'not.a.jwt', /invalid token/],
		];
		for (const [label, token, message] of cases) {
			const error = await connectError(t.url, { token });
			assert.equal(error.data?.code, 'unauthorized', label);
			assert.match(error.message, message, label);
		}
	});

	it('accepts a valid token', async () => {
		const socket = await t.client(t.token({ room: 'hs-ok', identity: 'ok1' }));
		assert.equal(socket.connected, true);
		socket.disconnect();
	});
});

describe('GET /api/info', () => {
	it('gives the lobby the routers\' RTP capabilities, the same as a room\'s (before and after a room exists)', async () => {
		const info = async () => (await (await fetch(`${t.url}/api/info`)).json()) as ServerInfoResponse;
		const before = await info();
		assert.ok(before.rtpCapabilities?.codecs?.some((c) => c.mimeType === 'video/VP8'), JSON.stringify(before));
		const socket = await t.client(t.token({ room: 'info-caps', identity: 'i1' }));
		const { rtpCapabilities } = await ok(socket, 'media:getRouterRtpCapabilities', {});
		// The client compares them as JSON (a Device loaded from the lobby's is used as is).
		assert.equal(JSON.stringify(before.rtpCapabilities), JSON.stringify(rtpCapabilities));
		assert.equal(JSON.stringify((await info()).rtpCapabilities), JSON.stringify(rtpCapabilities));
		socket.disconnect();
	});
});

describe('requests', () => {
	it('answers malformed payloads with bad_request and keeps serving', async () => {
		const socket = await t.client(t.token({ room: 'bad-input', identity: 'b1' }));
		const bad: [string, unknown][] = [
			['room:join', { rtpCapabilities: 'nope' }],
			['room:join', null],
			['media:createTransport', { direction: 'sideways' }],
			['media:createTransport', { direction: 'send', extra: true }],
			['media:consume', { transportId: 5, producerId: 'x' }],
			['media:produce', { transportId: 'x', kind: 'video', rtpParameters: { codecs: [] }, source: 'camera' }],
		];
		for (const [event, payload] of bad) {
			const result = await rawRequest(socket, event, payload);
			assert.equal(result.ok, false, event);
			assert.equal(!result.ok && result.error.code, 'bad_request', `${event} ${JSON.stringify(payload)}`);
			assert.ok(!result.ok && result.error.message.length, 'a message says what is wrong');
		}
		const unknown = await rawRequest(socket, 'nonsense:event', {});
		assert.equal(!unknown.ok && unknown.error.code, 'unknown_event');
		// Still alive and serving.
		await joinRoom(socket);
		socket.disconnect();
	});

	it('refuses media requests before joining', async () => {
		const socket = await t.client(t.token({ room: 'not-joined', identity: 'n1' }));
		const result = await request(socket, 'media:createTransport', { direction: 'send' });
		assert.equal(result.ok, false);
		assert.equal(!result.ok && result.error.code, 'invalid_state');
		socket.disconnect();
	});

	it('rate-limits a flood of requests', async () => {
		const socket = await t.client(t.token({ room: 'flood', identity: 'f1' }));
		const results = await Promise.all(
			Array.from({ length: 400 }, () => request(socket, 'media:getRouterRtpCapabilities', {})),
		);
		const limited = results.filter((r) => !r.ok && r.error.code === 'rate_limited').length;
		assert.ok(limited > 0, 'some requests were rate limited');
		assert.ok(results.some((r) => r.ok), 'the first ones were served');
		socket.disconnect();
	});
});

describe('a session in a room', () => {
	it('negotiates transports, produces, and notifies and lets others consume', async () => {
		const a = await t.client(t.token({ room: 'call', identity: 'alice', name: 'Alice' }));
		const b = await t.client(t.token({ room: 'call', identity: 'bob', name: 'Bob' }));
		const joinedA = await joinRoom(a);
		assert.equal(joinedA.self.id, 'alice');
		assert.deepEqual(joinedA.peers, []);

		const bobJoined = next(a, 'peer:joined');
		const joinedB = await joinRoom(b);
		assert.deepEqual(joinedB.peers.map((p) => p.name), ['Alice']);
		assert.equal((await bobJoined).name, 'Bob');

		const send = await ok(a, 'media:createTransport', { direction: 'send' });
		assert.ok(send.iceCandidates.length >= 1);
		assert.ok(send.iceCandidates.every((c) => c.address === '127.0.0.1'));
		assert.ok(send.dtlsParameters.fingerprints.length >= 1);

		const newProducer = next(b, 'producer:new');
		const { producerId } = await ok(a, 'media:produce', {
			transportId: send.id,
			kind: 'video',
			rtpParameters: syntheticRtpParameters('video', 1111),
			source: 'camera',
		});
		const announced = await newProducer;
		assert.deepEqual(announced, { id: producerId, peerId: 'alice', kind: 'video', source: 'camera', paused: false });

		// The same source twice is refused; a producer on a recv transport is refused.
		const again = await request(a, 'media:produce', {
			transportId: send.id,
			kind: 'video',
			rtpParameters: syntheticRtpParameters('video', 2222),
			source: 'camera',
		});
		assert.equal(!again.ok && again.error.code, 'invalid_state');

		const recv = await ok(b, 'media:createTransport', { direction: 'recv' });
		const consumer = await ok(b, 'media:consume', { transportId: recv.id, producerId });
		assert.equal(consumer.peerId, 'alice');
		assert.equal(consumer.kind, 'video');
		assert.equal(consumer.rtpParameters.codecs[0]?.mimeType, 'video/VP8');
		await ok(b, 'media:resumeConsumer', { consumerId: consumer.id });

		// Closing a transport (the client replaces a receive transport that failed to negotiate)
		// closes its consumers; another transport consumes the same producer.
		const spare = await ok(b, 'media:createTransport', { direction: 'recv' });
		const spareConsumer = await ok(b, 'media:consume', { transportId: spare.id, producerId });
		await ok(b, 'media:closeTransport', { transportId: spare.id });
		const gone = await request(b, 'media:resumeConsumer', { consumerId: spareConsumer.id });
		assert.equal(!gone.ok && gone.error.code, 'not_found');
		const closedAgain = await request(b, 'media:closeTransport', { transportId: spare.id });
		assert.equal(!closedAgain.ok && closedAgain.error.code, 'not_found');

		// Alice's own producer cannot be consumed by Alice; a send transport cannot consume.
		const own = await request(a, 'media:consume', { transportId: send.id, producerId });
		assert.equal(!own.ok && own.error.code, 'invalid_state');

		// Pause/resume is announced; closing the producer closes Bob's consumer.
		const paused = next(b, 'producer:paused');
		await ok(a, 'media:pauseProducer', { producerId });
		assert.equal((await paused).producerId, producerId);
		const consumerClosed = next(b, 'consumer:closed');
		const producerClosed = next(b, 'producer:closed');
		await ok(a, 'media:closeProducer', { producerId });
		assert.equal((await consumerClosed).consumerId, consumer.id);
		assert.equal((await producerClosed).producerId, producerId);

		// Alice leaving is announced and cleans up her server-side state.
		const left = next(b, 'peer:left');
		a.disconnect();
		assert.equal((await left).peerId, 'alice');
		const room = t.sfu.rooms.get('call');
		assert.ok(room);
		assert.deepEqual([...room.peers.keys()], ['bob']);
		b.disconnect();
	});

	it('answers room:join with the receive transport and consumers of everyone here when asked (receive)', async () => {
		const a = await t.client(t.token({ room: 'fastjoin', identity: 'pub' }));
		await joinRoom(a);
		const send = await ok(a, 'media:createTransport', { direction: 'send' });
		const produced = await Promise.all(
			(['audio', 'video'] as const).map((kind, i) =>
				ok(a, 'media:produce', {
					transportId: send.id,
					kind,
					rtpParameters: syntheticRtpParameters(kind, 5550 + i),
					source: kind === 'audio' ? 'microphone' : 'camera',
				}),
			),
		);
		const b = await t.client(t.token({ room: 'fastjoin', identity: 'sub' }));
		const { rtpCapabilities } = await ok(b, 'media:getRouterRtpCapabilities', {});
		const joined = await ok(b, 'room:join', { rtpCapabilities, receive: true });
		assert.ok(joined.receive);
		assert.ok(joined.receive.transport.iceCandidates.length >= 1);
		assert.deepEqual(joined.receive.consumers.map((c) => c.producerId).sort(), produced.map((p) => p.producerId).sort());
		assert.ok(joined.receive.consumers.every((c) => c.peerId === 'pub'));
		// They are real consumers on that transport: resumed like any other, closed with it.
		await ok(b, 'media:resumeConsumer', { consumerId: joined.receive.consumers[0]!.id });
		await ok(b, 'media:closeTransport', { transportId: joined.receive.transport.id });
		const gone = await request(b, 'media:resumeConsumer', { consumerId: joined.receive.consumers[1]!.id });
		assert.equal(!gone.ok && gone.error.code, 'not_found');
		// Without `receive` (or without the subscribe grant) nothing is opened.
		assert.equal((await joinRoom(a)).receive, undefined);
		const viewerless = await t.client(t.token({ room: 'fastjoin', identity: 'nosub', grants: { subscribe: false } }));
		assert.equal((await ok(viewerless, 'room:join', { rtpCapabilities, receive: true })).receive, undefined);
		for (const s of [a, b, viewerless]) s.disconnect();
	});

	it('joining again on the same connection takes the new capabilities (a client that reloaded its device)', async () => {
		const a = await t.client(t.token({ room: 'recaps', identity: 'pub' }));
		await joinRoom(a);
		const send = await ok(a, 'media:createTransport', { direction: 'send' });
		const { producerId } = await ok(a, 'media:produce', {
			transportId: send.id,
			kind: 'audio',
			rtpParameters: syntheticRtpParameters('audio', 4444),
			source: 'microphone',
		});
		const b = await t.client(t.token({ room: 'recaps', identity: 'sub' }));
		const { rtpCapabilities } = await ok(b, 'media:getRouterRtpCapabilities', {});
		// A stale device: no audio codec at all, so nothing audio can be consumed.
		const stale = { ...rtpCapabilities, codecs: (rtpCapabilities.codecs ?? []).filter((c) => c.kind !== 'audio') };
		await ok(b, 'room:join', { rtpCapabilities: stale });
		let recv = await ok(b, 'media:createTransport', { direction: 'recv' });
		const refused = await request(b, 'media:consume', { transportId: recv.id, producerId });
		assert.equal(refused.ok, false, 'the stale capabilities cannot consume audio');
		await ok(b, 'room:join', { rtpCapabilities });
		recv = await ok(b, 'media:createTransport', { direction: 'recv' });
		const consumer = await ok(b, 'media:consume', { transportId: recv.id, producerId });
		assert.equal(consumer.kind, 'audio');
		for (const s of [a, b]) s.disconnect();
	});

	it('never reaches another room: a producer id from room A is not found from room B', async () => {
		const a = await t.client(t.token({ room: 'room-a', identity: 'pa' }));
		const b = await t.client(t.token({ room: 'room-b', identity: 'pb' }));
		await joinRoom(a);
		await joinRoom(b);
		const send = await ok(a, 'media:createTransport', { direction: 'send' });
		const { producerId } = await ok(a, 'media:produce', {
			transportId: send.id,
			kind: 'audio',
			rtpParameters: syntheticRtpParameters('audio', 3333),
			source: 'microphone',
		});
		const recv = await ok(b, 'media:createTransport', { direction: 'recv' });
		const result = await request(b, 'media:consume', { transportId: recv.id, producerId });
		assert.equal(!result.ok && result.error.code, 'not_found');
		// Nor can B use A's transport id.
		const foreign = await request(b, 'media:connectTransport', {
			transportId: send.id,
			dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] },
		});
		assert.equal(!foreign.ok && foreign.error.code, 'not_found');
		a.disconnect();
		b.disconnect();
	});

	it('enforces publish/subscribe grants on the server', async () => {
		const viewer = await t.client(t.token({ room: 'grants', identity: 'v', grants: { publish: false } }));
		await joinRoom(viewer);
		const send = await request(viewer, 'media:createTransport', { direction: 'send' });
		assert.equal(!send.ok && send.error.code, 'forbidden');
		const micOnly = await t.client(t.token({ room: 'grants', identity: 'm', grants: { publishSources: ['microphone'] } }));
		await joinRoom(micOnly);
		const transport = await ok(micOnly, 'media:createTransport', { direction: 'send' });
		const video = await request(micOnly, 'media:produce', {
			transportId: transport.id,
			kind: 'video',
			rtpParameters: syntheticRtpParameters('video', 4444),
			source: 'camera',
		});
		assert.equal(!video.ok && video.error.code, 'forbidden');
		viewer.disconnect();
		micOnly.disconnect();
	});

	it('replaces an older session of the same identity', async () => {
		const first = await t.client(t.token({ room: 'dup', identity: 'same' }));
		await joinRoom(first);
		const ended = next(first, 'session:ended');
		const second = await t.client(t.token({ room: 'dup', identity: 'same' }));
		await joinRoom(second);
		assert.equal((await ended).reason, 'duplicate-identity');
		const room = t.sfu.rooms.get('dup');
		assert.equal(room?.peers.size, 1);
		second.disconnect();
	});

	it('closes an empty room after the grace period', async () => {
		const socket = await t.client(t.token({ room: 'ephemeral', identity: 'e' }));
		await joinRoom(socket);
		assert.ok(t.sfu.rooms.has('ephemeral'));
		socket.disconnect();
		await new Promise((r) => setTimeout(r, 600));
		assert.equal(t.sfu.rooms.has('ephemeral'), false);
	});
});

describe('layers, dynacast and viewports', () => {
	const simulcast = (base: number) => ({
		mid: '0',
		codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }] }],
		headerExtensions: [],
		encodings: [
			{ rid: 'r0', scaleResolutionDownBy: 4, scalabilityMode: 'L1T3', ssrc: base },
			{ rid: 'r1', scaleResolutionDownBy: 2, scalabilityMode: 'L1T3', ssrc: base + 1 },
			{ rid: 'r2', scaleResolutionDownBy: 1, scalabilityMode: 'L1T3', ssrc: base + 2 },
		],
		rtcp: { cname: 'sim' },
	});
	/** A 720p simulcast camera published by `pub` (joined already); its producer id. */
	const publishCamera = async (pub: TestClient, base: number): Promise<string> => {
		const send = await ok(pub, 'media:createTransport', { direction: 'send' });
		const { producerId } = await ok(pub, 'media:produce', {
			transportId: send.id,
			kind: 'video',
			rtpParameters: simulcast(base),
			source: 'camera',
			dimensions: { width: 1280, height: 720 },
		});
		return producerId;
	};

	it('maps tile sizes to layers, pauses hidden tiles and tells the publisher what to encode', async () => {
		const lt = await startTestServer({ env: { PARLEY_MEDIA_DYNACAST_LOWER_DELAY_MS: '100' } });
		try {
			const pub = await lt.client(lt.token({ room: 'layers', identity: 'pub' }));
			const sub = await lt.client(lt.token({ room: 'layers', identity: 'sub' }));
			await joinRoom(pub);
			await joinRoom(sub);
			const producerId = await publishCamera(pub, 5000);
			// Nobody watches: after the delay the publisher may stop encoding entirely.
			assert.deepEqual(await next(pub, 'producer:layers'), { producerId, maxSpatialLayer: -1 });

			const recv = await ok(sub, 'media:createTransport', { direction: 'recv' });
			const raised = next(pub, 'producer:layers');
			const { id: consumerId } = await ok(sub, 'media:consume', { transportId: recv.id, producerId });
			assert.deepEqual(await raised, { producerId, maxSpatialLayer: 1 }, 'a new viewer gets 360p by default, at once');
			await ok(sub, 'media:resumeConsumer', { consumerId });
			const consumer = () => lt.sfu.rooms.get('layers')!.peer('sub').consumer(consumerId);
			assert.deepEqual(consumer().preferredLayers, { spatialLayer: 1, temporalLayer: 2 });

			const lowered = next(pub, 'producer:layers');
			await ok(sub, 'media:setViewports', { viewports: [{ consumerId, width: 320, height: 180, visible: true }] });
			assert.deepEqual(consumer().preferredLayers, { spatialLayer: 0, temporalLayer: 2 });
			assert.deepEqual(await lowered, { producerId, maxSpatialLayer: 0 });

			const up = next(pub, 'producer:layers');
			await ok(sub, 'media:setViewports', { viewports: [{ consumerId, width: 1280, height: 720, visible: true }] });
			assert.deepEqual(consumer().preferredLayers, { spatialLayer: 2, temporalLayer: 2 });
			assert.deepEqual(await up, { producerId, maxSpatialLayer: 2 });

			const hidden = next(pub, 'producer:layers');
			await ok(sub, 'media:setViewports', { viewports: [{ consumerId, width: 1280, height: 720, visible: false }] });
			assert.equal(consumer().paused, true, 'a hidden tile pauses its consumer');
			assert.deepEqual(await hidden, { producerId, maxSpatialLayer: -1 });
			await ok(sub, 'media:setViewports', { viewports: [{ consumerId, width: 640, height: 360, visible: true }] });
			assert.equal(consumer().paused, false, 'visible again: resumed');

			const bad = await request(sub, 'media:setViewports', { viewports: [] });
			assert.equal(!bad.ok && bad.error.code, 'bad_request');
		} finally {
			await lt.close();
		}
	});

	it('someone preparing in the lobby has a lone publisher encode again before they join; stopped again when they do not', async () => {
		const lt = await startTestServer({ env: { PARLEY_MEDIA_DYNACAST_LOWER_DELAY_MS: '100' }, prepare: { ttlMs: 800, max: 10 } });
		try {
			const pub = await lt.client(lt.token({ room: 'lobby-layers', identity: 'pub' }));
			await joinRoom(pub);
			const producerId = await publishCamera(pub, 8000);
			assert.deepEqual(await next(pub, 'producer:layers'), { producerId, maxSpatialLayer: -1 }, 'alone: nobody watches');
			const raised = next(pub, 'producer:layers');
			const response = await fetch(`${lt.url}/api/media/prepare`, { method: 'POST', headers: { authorization: `Bearer ${lt.token({ room: 'lobby-layers', identity: 'newcomer' })}` } });
			assert.equal(response.status, 200);
			assert.deepEqual(await raised, { producerId, maxSpatialLayer: 1 }, 'what a new viewer is shown first, at once');
			// Never joined: the prepared connection expires (0.8 s here), and the encoder stops again.
			const started = Date.now();
			assert.deepEqual(await next(pub, 'producer:layers'), { producerId, maxSpatialLayer: -1 });
			assert.ok(Date.now() - started > 500, 'not before the prepared connection went');
		} finally {
			await lt.close();
		}
	});

	it('a camera published with its encodings up to one layer (after a move) is told only what differs from that', async () => {
		const lt = await startTestServer({ env: { PARLEY_MEDIA_DYNACAST_LOWER_DELAY_MS: '100' } });
		try {
			const pub = await lt.client(lt.token({ room: 'start-layer', identity: 'pub' }));
			const sub = await lt.client(lt.token({ room: 'start-layer', identity: 'sub' }));
			await joinRoom(pub);
			await joinRoom(sub);
			const told: unknown[] = [];
			pub.on('producer:layers', (l) => told.push(l));
			const send = await ok(pub, 'media:createTransport', { direction: 'send' });
			const recv = await ok(sub, 'media:createTransport', { direction: 'recv' });
			const { producerId } = await ok(pub, 'media:produce', {
				transportId: send.id,
				kind: 'video',
				rtpParameters: simulcast(6000),
				source: 'camera',
				dimensions: { width: 1280, height: 720 },
				maxSpatialLayer: 1,
			});
			const { id: consumerId } = await ok(sub, 'media:consume', { transportId: recv.id, producerId });
			await ok(sub, 'media:resumeConsumer', { consumerId });
			// The viewer wants 360p (layer 1), what the publisher already sends: nothing to change.
			await new Promise((r) => setTimeout(r, 400));
			assert.deepEqual(told, [], 'no change for a publisher already at the wanted layer');
			const up = next(pub, 'producer:layers');
			await ok(sub, 'media:setViewports', { viewports: [{ consumerId, width: 1280, height: 720, visible: true }] });
			assert.deepEqual(await up, { producerId, maxSpatialLayer: 2 }, 'raised at once');
			const bad = await request(pub, 'media:produce', { transportId: send.id, kind: 'video', rtpParameters: simulcast(7000), source: 'screen', maxSpatialLayer: -1 });
			assert.equal(!bad.ok && bad.error.code, 'bad_request');
		} finally {
			await lt.close();
		}
	});
});
