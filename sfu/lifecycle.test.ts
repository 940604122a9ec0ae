/** The SFU's object lifecycle against a real mediasoup worker: cascades, no leaks, worker death. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { InvalidStateError, Sfu } from './index.ts';

let sfu: Sfu;
before(async () => {
	const config = loadConfig({
		env: {
			PARLEY_DEV: 'true',
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(20000 + Math.floor(Math.random() * 20000)),
			PARLEY_ROOMS_EMPTY_TIMEOUT_MS: '60000',
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
		const alice = room.join('alice', 'Alice', room.rtpCapabilities);
		const bob = room.join('bob', 'Bob', room.rtpCapabilities);
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
		assert.throws(() => room.join('carol', 'Carol', room.rtpCapabilities), InvalidStateError);
		const dump = await worker0Dump();
		assert.ok(!dump.routerIds.includes((room.routerFor().router).id), 'router closed in the worker');
	});

	it('a rejoining identity replaces its old peer', async () => {
		const room = await sfu.room('rejoin');
		const first = room.join('x', 'X', room.rtpCapabilities);
		const second = room.join('x', 'X', room.rtpCapabilities);
		assert.equal(first.closed, true);
		assert.equal(room.peer('x'), second);
		room.close();
	});

	it('a worker that dies closes its rooms and is replaced', async () => {
		const room = await sfu.room('doomed');
		room.join('p', 'P', room.rtpCapabilities);
		const closed = new Promise<string>((resolve) => room.once('close', resolve));
		const respawned = new Promise((resolve) => sfu.pool.once('workerrespawned', resolve));
		const pid = sfu.pool.workers[0]!.worker.pid;
		process.kill(pid, 'SIGKILL');
		assert.equal(await closed, 'worker-died');
		assert.equal(sfu.rooms.has('doomed'), false);
		await respawned;
		assert.notEqual(sfu.pool.workers[0]!.worker.pid, pid);
		const again = await sfu.room('doomed');
		assert.notEqual(again, room);
		assert.equal(again.closed, false);
		again.close();
	});
});
