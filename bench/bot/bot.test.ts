/**
 * Smoke test of the load bots: a real Parley server in-process (real mediasoup worker,
 * real Socket.IO), one publisher bot (looped VP8 + Opus) and one subscriber bot over real
 * WebRTC (werift: ICE, DTLS, SRTP) for a few seconds.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { Bot, LatencyRecorder } from './bot.ts';
import { loadMedia } from './media.ts';
import { ParleyConnector } from './parley.ts';

let t: TestServer;
const bots: Bot[] = [];

before(async () => {
	await loadMedia(); // generates bench/.media/ with ffmpeg on first use (~3 s)
	t = await startTestServer();
});

after(async () => {
	await Promise.all(bots.map((b) => b.close()));
	await t?.close();
});

it('a subscriber bot receives a publisher bot\'s video and audio through Parley', { timeout: 20_000 }, async () => {
	const connector = new ParleyConnector({
		url: t.url,
		token: (room, identity, grants) => t.token({ room, identity, name: identity, grants }),
	});
	const latency = new LatencyRecorder();
	const publisher = new Bot({ connector, room: 'smoke', identity: 'pub', publish: { video: 'single', audio: true } });
	bots.push(publisher);
	await publisher.start();
	assert.ok(publisher.publishing, 'the publisher is sending');

	const subscriber = new Bot({ connector, room: 'smoke', identity: 'sub', subscribe: true, latency });
	bots.push(subscriber);
	await subscriber.start();
	await subscriber.connected();
	await new Promise((r) => setTimeout(r, 3000));

	const got = subscriber.received();
	const sent = publisher.sent();
	assert.equal(got.streams, 2, 'one audio and one video stream');
	assert.ok(got.video.packets > 100, `video packets: ${got.video.packets}`);
	assert.ok(got.audio.packets > 50, `audio packets: ${got.audio.packets}`);
	assert.ok(got.video.keyframes >= 1, 'a keyframe arrived');
	assert.ok(got.video.bytes > 50_000, `video bytes: ${got.video.bytes}`);
	assert.ok(got.video.lost <= got.video.expected * 0.05, `video loss ${got.video.lost}/${got.video.expected}`);
	assert.ok(sent.packets > got.video.packets, 'the publisher sent at least what was received');
	const timing = subscriber.timing;
	assert.ok(timing.firstPacketMs !== undefined && timing.firstPacketMs > 0 && timing.firstPacketMs < 10_000, `join → first packet: ${timing.firstPacketMs}`);
	assert.ok(timing.firstKeyframeMs !== undefined, 'join → first keyframe measured');
	assert.ok(latency.samples.length > 50, `latency samples: ${latency.samples.length}`);
	console.log(
		`smoke: join→first packet ${timing.firstPacketMs.toFixed(0)} ms, →keyframe ${timing.firstKeyframeMs.toFixed(0)} ms; ` +
			`video ${got.video.packets} pkts ${got.video.keyframes} kf, audio ${got.audio.packets} pkts, ` +
			`latency median ${median(latency.samples).toFixed(2)} ms`,
	);
});

it('a receive transport whose ICE completed before its connect request still connects (mediasoup then runs DTLS as server)', { timeout: 20_000 }, async () => {
	const token = (room: string, identity: string, grants: { publish: boolean; subscribe: boolean }) => t.token({ room, identity, name: identity, grants });
	const publisher = new Bot({ connector: new ParleyConnector({ url: t.url, token }), room: 'ice-first', identity: 'pub', publish: { video: 'single', audio: true } });
	bots.push(publisher);
	await publisher.start();
	let iceBeforeConnect = '';
	// A slow signaling path (or a busy page): the connect request arrives after ICE is done.
	const late = new ParleyConnector({
		url: t.url,
		token,
		beforeConnectTransport: async (transportId) => {
			for (let i = 0; i < 200 && !['connected', 'completed'].includes(iceStateOf(transportId)); i++) await new Promise((r) => setTimeout(r, 25));
			iceBeforeConnect = iceStateOf(transportId);
		},
	});
	const subscriber = new Bot({ connector: late, room: 'ice-first', identity: 'sub', subscribe: true });
	bots.push(subscriber);
	await subscriber.start();
	await subscriber.connected();
	await new Promise((r) => setTimeout(r, 1000));
	assert.match(iceBeforeConnect, /^(connected|completed)$/, 'ICE was done before the connect request');
	assert.ok(subscriber.received().video.packets > 10, `video packets: ${subscriber.received().video.packets}`);
});

it('a subscriber bot prepared before its join (the lobby\'s POST /api/media/prepare) receives on that connection', { timeout: 20_000 }, async () => {
	const token = (room: string, identity: string, grants: { publish: boolean; subscribe: boolean }) => t.token({ room, identity, name: identity, grants });
	const connector = new ParleyConnector({ url: t.url, token });
	const publisher = new Bot({ connector, room: 'prepared', identity: 'pub', publish: { video: 'single', audio: true } });
	bots.push(publisher);
	await publisher.start();
	const subscriber = new Bot({ connector, room: 'prepared', identity: 'sub', subscribe: true });
	bots.push(subscriber);
	assert.equal(await subscriber.prepare(), true, 'a receive connection was prepared');
	// Connected (ICE, DTLS and the data channel's SCTP) before the join: a transport nobody owns yet.
	assert.equal(t.sfu.rooms.get('prepared')!.peers.has('sub'), false);
	await subscriber.start();
	const peer = t.sfu.rooms.get('prepared')!.peer('sub');
	assert.equal(peer.transports.size, 1, 'the join opened no receive transport of its own');
	assert.equal(subscriber.timing.connectedMs, 0, 'connected before the join');
	await new Promise((r) => setTimeout(r, 1500));
	const got = subscriber.received();
	assert.equal(got.streams, 2);
	assert.ok(got.video.keyframes >= 1 && got.video.packets > 20, `video: ${JSON.stringify(got.video)}`);
	assert.ok(got.audio.packets > 20, `audio packets: ${got.audio.packets}`);
	console.log(`prepared: prepare ${subscriber.timing.preparedMs?.toFixed(0)} ms, join → keyframe ${subscriber.timing.firstKeyframeMs?.toFixed(0)} ms`);
});

function iceStateOf(transportId: string): string {
	for (const room of t.sfu.rooms.values()) {
		for (const peer of room.peers.values()) {
			const transport = peer.transports.get(transportId);
			if (transport) return transport.iceState;
		}
	}
	return 'unknown';
}

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)] ?? NaN;
}
