/**
 * Integration (real worker, real Socket.IO): one hostile publisher cannot stop media for
 * the room (bad RTP parameters are refused before mediasoup forwards them) and cannot
 * pile up media objects (caps, one producer per source under concurrency, coalesced
 * viewport reports).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinRoom, next, ok, request, startTestServer, syntheticRtpParameters, type TestClient, type TestServer } from '../test/harness.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer();
});
after(async () => t.close());

type Params = ReturnType<typeof syntheticRtpParameters>;
const vp8 = (ssrc: number): Params => syntheticRtpParameters('video', ssrc);
const opus = (ssrc: number): Params => syntheticRtpParameters('audio', ssrc);

async function publisher(room: string, identity: string): Promise<{ socket: TestClient; send: string }> {
	const socket = await t.client(t.token({ room, identity }));
	await joinRoom(socket);
	const { id } = await ok(socket, 'media:createTransport', { direction: 'send' });
	return { socket, send: id };
}

describe('hostile RTP parameters', () => {
	it('refuses every bad producer with bad_request, tells nobody, and the room keeps working', async () => {
		const { socket: bad, send } = await publisher('rtp-bad', 'mallory');
		const watcher = await t.client(t.token({ room: 'rtp-bad', identity: 'watcher' }));
		await joinRoom(watcher);
		const announced: string[] = [];
		watcher.on('producer:new', (p) => announced.push(p.id));

		const cases: [string, 'audio' | 'video', 'microphone' | 'camera', unknown][] = [
			['audio kind with a VP8 codec', 'audio', 'microphone', { ...opus(1), codecs: vp8(1).codecs }],
			['video kind with an Opus codec', 'video', 'camera', { ...vp8(2), codecs: opus(2).codecs }],
			[
				'a 150 kB codec parameter',
				'audio',
				'microphone',
				{ ...opus(3), codecs: [{ ...opus(3).codecs[0]!, parameters: { useinbandfec: 1, junk: 'x'.repeat(150_000) } }] },
			],
			[
				'many codec parameters',
				'audio',
				'microphone',
				{ ...opus(4), codecs: [{ ...opus(4).codecs[0]!, parameters: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, i])) }] },
			],
			['an unknown header extension', 'video', 'camera', { ...vp8(5), headerExtensions: [{ uri: 'urn:evil:ext', id: 3 }] }],
			[
				'RTX not tied to the media codec',
				'video',
				'camera',
				{
					...vp8(6),
					codecs: [...vp8(6).codecs, { mimeType: 'video/rtx', payloadType: 102, clockRate: 90000, parameters: { apt: 99 } }],
					encodings: [{ ssrc: 6, rtx: { ssrc: 60 } }],
				},
			],
			[
				'two media codecs',
				'video',
				'camera',
				{ ...vp8(7), codecs: [...vp8(7).codecs, { mimeType: 'video/H264', payloadType: 103, clockRate: 90000, parameters: { 'packetization-mode': 1 } }] },
			],
			[
				'a duplicate RTX ssrc',
				'video',
				'camera',
				{
					...vp8(8),
					codecs: [...vp8(8).codecs, { mimeType: 'video/rtx', payloadType: 102, clockRate: 90000, parameters: { apt: 101 } }],
					encodings: [{ ssrc: 8, rtx: { ssrc: 8 } }],
				},
			],
			['ten encodings', 'video', 'camera', { ...vp8(9), encodings: Array.from({ length: 10 }, (_, i) => ({ ssrc: 900 + i })) }],
			['an unknown codec', 'video', 'camera', { ...vp8(10), codecs: [{ mimeType: 'video/EVIL', payloadType: 101, clockRate: 90000 }] }],
		];
		for (const [label, kind, source, rtpParameters] of cases) {
			const result = await request(bad, 'media:produce', { transportId: send, kind, source, rtpParameters } as never);
			assert.equal(result.ok, false, label);
			assert.equal(!result.ok && result.error.code, 'bad_request', `${label}: ${JSON.stringify(!result.ok && result.error)}`);
		}
		assert.equal(t.sfu.rooms.get('rtp-bad')!.peer('mallory').producers.size, 0);

		// The same peer and someone else can still publish, and the watcher can consume both.
		const good = await ok(bad, 'media:produce', { transportId: send, kind: 'audio', source: 'microphone', rtpParameters: opus(11) });
		const { socket: alice, send: aliceSend } = await publisher('rtp-bad', 'alice');
		const cam = await ok(alice, 'media:produce', { transportId: aliceSend, kind: 'video', source: 'camera', rtpParameters: vp8(12) });
		const recv = await ok(watcher, 'media:createTransport', { direction: 'recv' });
		for (const producerId of [good.producerId, cam.producerId]) {
			const consumer = await ok(watcher, 'media:consume', { transportId: recv.id, producerId });
			assert.ok(JSON.stringify(consumer.rtpParameters).length < 2000, 'consume answers stay small');
		}
		await new Promise((r) => setTimeout(r, 100));
		assert.deepEqual(announced.sort(), [good.producerId, cam.producerId].sort(), 'only the valid producers were announced');
	});
});

describe('caps on media objects', () => {
	it('one producer per source even under 100 concurrent requests', async () => {
		const { socket, send } = await publisher('caps-produce', 'racer');
		const observer = await t.client(t.token({ room: 'caps-produce', identity: 'observer' }));
		await joinRoom(observer);
		let announced = 0;
		observer.on('producer:new', () => announced++);
		const results = await Promise.all(
			Array.from({ length: 100 }, (_, i) =>
				request(socket, 'media:produce', { transportId: send, kind: 'video', source: 'camera', rtpParameters: vp8(20_000 + i) }),
			),
		);
		assert.equal(results.filter((r) => r.ok).length, 1, 'exactly one camera producer');
		for (const r of results) if (!r.ok) assert.equal(r.error.code, 'invalid_state');
		await new Promise((r) => setTimeout(r, 200));
		assert.equal(announced, 1);
		assert.equal(t.sfu.rooms.get('caps-produce')!.peer('racer').producers.size, 1);
	});

	it('caps transports per direction (also concurrent), and consumers per producer', async () => {
		const { socket: pub, send } = await publisher('caps-objects', 'pub');
		const { producerId } = await ok(pub, 'media:produce', { transportId: send, kind: 'video', source: 'camera', rtpParameters: vp8(30_000) });
		const sub = await t.client(t.token({ room: 'caps-objects', identity: 'sub' }));
		await joinRoom(sub);
		const made = await Promise.all(Array.from({ length: 20 }, () => request(sub, 'media:createTransport', { direction: 'recv' })));
		assert.equal(made.filter((r) => r.ok).length, 2, 'two recv transports at most');
		for (const r of made) if (!r.ok) assert.equal(r.error.code, 'limit_exceeded');
		assert.equal((await request(sub, 'media:createTransport', { direction: 'send' })).ok, true, 'the send side has its own cap');
		const recv = made.find((r) => r.ok)!;
		assert.ok(recv.ok);
		const consumers = await Promise.all(
			Array.from({ length: 10 }, () => request(sub, 'media:consume', { transportId: recv.data.id, producerId })),
		);
		assert.equal(consumers.filter((r) => r.ok).length, 2, 'two consumers of one producer at most');
		for (const r of consumers) if (!r.ok) assert.equal(r.error.code, 'limit_exceeded');
		// Closing one frees its place.
		const first = consumers.find((r) => r.ok)!;
		assert.ok(first.ok);
		await ok(sub, 'media:closeConsumer', { consumerId: first.data.id });
		await ok(sub, 'media:consume', { transportId: recv.data.id, producerId });
	});

	it('connecting a transport twice is invalid_state, not internal', async () => {
		const { socket, send } = await publisher('caps-connect', 'twice');
		const dtlsParameters = { role: 'client' as const, fingerprints: [{ algorithm: 'sha-256', value: 'AA:'.repeat(31) + 'AA' }] };
		await ok(socket, 'media:connectTransport', { transportId: send, dtlsParameters });
		const again = await request(socket, 'media:connectTransport', { transportId: send, dtlsParameters });
		assert.equal(!again.ok && again.error.code, 'invalid_state');
	});

	it('coalesces viewport spam: 150 reports at once are applied in a few batches', async () => {
		const simulcast = {
			...vp8(40_000),
			encodings: [
				{ rid: 'r0', scaleResolutionDownBy: 4, scalabilityMode: 'L1T3', ssrc: 40_000 },
				{ rid: 'r1', scaleResolutionDownBy: 2, scalabilityMode: 'L1T3', ssrc: 40_001 },
				{ rid: 'r2', scaleResolutionDownBy: 1, scalabilityMode: 'L1T3', ssrc: 40_002 },
			],
		};
		const { socket: pub, send } = await publisher('caps-viewports', 'pub');
		const { producerId } = await ok(pub, 'media:produce', {
			transportId: send,
			kind: 'video',
			source: 'camera',
			rtpParameters: simulcast,
			dimensions: { width: 1280, height: 720 },
		});
		const sub = await t.client(t.token({ room: 'caps-viewports', identity: 'spammer' }));
		await joinRoom(sub);
		const recv = await ok(sub, 'media:createTransport', { direction: 'recv' });
		const { id: consumerId } = await ok(sub, 'media:consume', { transportId: recv.id, producerId });
		const peer = t.sfu.rooms.get('caps-viewports')!.peer('spammer');
		let applied = 0;
		const original = peer.setViewport.bind(peer);
		peer.setViewport = (id, viewport) => {
			applied++;
			return original(id, viewport);
		};
		const started = performance.now();
		const answers = await Promise.all(
			Array.from({ length: 150 }, (_, i) =>
				request(sub, 'media:setViewports', {
					viewports: [{ consumerId, width: i % 2 ? 1280 : 160, height: i % 2 ? 720 : 90, visible: i % 3 !== 0 }],
				}),
			),
		);
		const elapsed = performance.now() - started;
		assert.ok(answers.every((a) => a.ok), 'every report is answered');
		assert.ok(applied <= 3 + elapsed / 100, `${applied} batches applied in ${Math.round(elapsed)} ms`);
		// The last report wins: 149 → visible, 1280x720 → the top layer.
		assert.deepEqual(peer.consumer(consumerId).preferredLayers?.spatialLayer, 2);
	});
});
