/** The SFU's object lifecycle against a real mediasoup worker: cascades, no leaks, worker death. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { InvalidStateError, Sfu } from './index.ts';
import { randomMediaPort } from '../test/ports.ts';

let sfu: Sfu;
before(async () => {
	const config = loadConfig({
		env: {
			PARLEY_DEV: 'true',
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(randomMediaPort()),
			PARLEY_ROOMS_EMPTY_TIMEOUT_MS: '60000',
			PARLEY_ROOMS_MAX_PEERS: '3',
		},
	});
	sfu = await Sfu.create(config, pino({ level: 'silent' }));
});
after(() => sfu.close());

const video = (ssrc: number) => ({
	mid: '0',
	codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }],
	headerExtensions: [],
	encodings: [{ ssrc }],
	rtcp: { cname: 'c' },
});

async function worker0Dump() {
	const w = sfu.pool.workers[0];
	assert.ok(w);
	return w.worker.dump();
}

describe('lifecycle', () => {
	it('concurrent room() calls share one room', async () => {
		const [a, b] = await Promise.all([sfu.room('same'), sfu.room('same')]);
		assert.equal(a, b);
		a.close();
	});

	it('closing a peer closes its transports, producers and the consumers of them', async () => {
		const room = await sfu.room('cascade');
		const alice = await room.join('alice', 'Alice', room.rtpCapabilities);
		const bob = await room.join('bob', 'Bob', room.rtpCapabilities);
		const send = await alice.createTransport('send');
		const producer = await alice.produce({ transportId: send.id, kind: 'video', rtpParameters: video(1), source: 'camera' });
		const recv = await bob.createTransport('recv');
		const consumer = await bob.consume(recv.id, producer);
		let consumerClosedEvents = 0;
		bob.on('consumerclose', () => consumerClosedEvents++);
		// The worker tells the consumer side asynchronously that its producer is gone.
		const consumerClosed = new Promise((resolve) => consumer.observer.once('close', () => resolve(undefined)));

		alice.close();
		alice.close(); // idempotent
		assert.equal(send.closed, true);
		assert.equal(producer.closed, true);
		await consumerClosed;
		assert.equal(consumer.closed, true);
		assert.equal(consumerClosedEvents, 1);
		assert.equal(bob.consumers.size, 0);
		assert.deepEqual([...room.peers.keys()], ['bob']);
		await assert.rejects(alice.createTransport('send'), InvalidStateError);

		room.close();
		assert.equal(bob.closed, true);
		assert.equal(recv.closed, true);
		await assert.rejects(room.join('carol', 'Carol', room.rtpCapabilities), InvalidStateError);
		const dump = await worker0Dump();
		assert.deepEqual(dump.routerIds, [], 'router closed in the worker');
	});

	it('a rejoining identity replaces its old peer', async () => {
		const room = await sfu.room('rejoin');
		const first = await room.join('x', 'X', room.rtpCapabilities);
		const second = await room.join('x', 'X', room.rtpCapabilities);
		assert.equal(first.closed, true);
		assert.equal(room.peer('x'), second);
		room.close();
	});

	it('offers Opus with in-band FEC and DTX, and VP8 first with NACK, PLI, transport-cc and RTX', async () => {
		const room = await sfu.room('codecs');
		const codecs = room.rtpCapabilities.codecs ?? [];
		const opus = codecs.find((c) => c.mimeType === 'audio/opus');
		assert.deepEqual([opus?.parameters?.useinbandfec, opus?.parameters?.usedtx], [1, 1]);
		const vp8 = codecs.find((c) => c.kind === 'video' && c.mimeType !== 'video/rtx');
		assert.equal(vp8?.mimeType, 'video/VP8', 'VP8 is the first video codec');
		const feedback = (vp8.rtcpFeedback ?? []).map((f) => `${f.type} ${f.parameter ?? ''}`.trim());
		for (const f of ['nack', 'nack pli', 'transport-cc']) assert.ok(feedback.includes(f), `VP8 feedback ${f}: ${feedback.join(', ')}`);
		assert.ok(codecs.some((c) => c.mimeType === 'video/rtx' && c.parameters?.apt === vp8.preferredPayloadType), 'RTX for VP8');
		room.close();
	});

	it('a full room (rooms.maxPeers) refuses one more participant; an identity already in may still rejoin', async () => {
		const room = await sfu.room('full');
		for (const id of ['a', 'b', 'c']) await room.join(id, id.toUpperCase(), room.rtpCapabilities);
		await assert.rejects(room.join('d', 'D', room.rtpCapabilities), InvalidStateError);
		const again = await room.join('c', 'C', room.rtpCapabilities);
		assert.equal(room.peer('c'), again);
		assert.deepEqual([...room.peers.keys()].sort(), ['a', 'b', 'c']);
		room.close();
	});

	it('a worker that dies is replaced and its room\'s peers are moved to it, not dropped', async () => {
		const room = await sfu.room('survivor');
		const peer = await room.join('p', 'P', room.rtpCapabilities);
		const send = await peer.createTransport('send');
		await peer.produce({ transportId: send.id, kind: 'video', rtpParameters: video(7), source: 'camera' });
		const moved = new Promise<[number, number]>((resolve) => room.once('peermoved', (_p, from, to) => resolve([from, to])));
		const ports = async () => {
			const dump = await sfu.pool.workers[0]!.webRtcServer.dump();
			return [...dump.udpSockets, ...dump.tcpServers].map((s) => s.port);
		};
		const portsBefore = await ports();
		assert.equal(portsBefore.length, 2, 'one UDP and one TCP port');
		const pid = sfu.pool.workers[0]!.worker.pid;
		process.kill(pid, 'SIGKILL');
		assert.deepEqual(await moved, [0, 0], 'moved to the replacement worker (the only one)');
		assert.notEqual(sfu.pool.workers[0]!.worker.pid, pid);
		assert.deepEqual(await ports(), portsBefore, 'the replacement listens on the same UDP and TCP port');
		assert.equal(room.closed, false);
		assert.equal(room.peer('p'), peer, 'the same participant, still in the room');
		assert.equal(peer.transports.size, 0, 'its old media is gone');
		assert.equal(peer.producers.size, 0);
		// Its client sets up media again on the new worker.
		const again = await peer.createTransport('send');
		await peer.produce({ transportId: again.id, kind: 'video', rtpParameters: video(8), source: 'camera' });
		assert.deepEqual(room.workers, [0]);
		room.close();
	});
});
