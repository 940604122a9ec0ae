/**
 * A room across two real mediasoup workers: placement by headroom, pipes created only when
 * someone consumes across routers (and for microphones, to the speaker observer's router),
 * closed when no longer needed; a dead worker's peers moved to the live one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { Sfu, type Room } from './index.ts';
import { randomMediaPort } from '../test/ports.ts';

let sfu: Sfu;
before(async () => {
	const config = loadConfig({
		env: {
			PARLEY_DEV: 'true',
			PARLEY_MEDIA_WORKERS: '2',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(randomMediaPort()),
			PARLEY_ROOMS_EMPTY_TIMEOUT_MS: '60000',
			PARLEY_PLACEMENT_SPREAD_CONSUMERS: '0',
			PARLEY_PLACEMENT_PIPE_IDLE_MS: '100',
		},
	});
	sfu = await Sfu.create(config, pino({ level: 'silent' }));
});
after(() => sfu.close());

const rtp = (kind: 'audio' | 'video', ssrc: number) => ({
	mid: kind === 'audio' ? '0' : '1',
	codecs:
		kind === 'audio'
			? [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }]
			: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }],
	headerExtensions: [],
	encodings: [{ ssrc }],
	rtcp: { cname: `c${ssrc}` },
});

const moved = (room: Room, peerId: string) =>
	new Promise<[number, number]>((resolve) => {
		const listener = (peer: { id: string }, from: number, to: number) => {
			if (peer.id !== peerId) return;
			room.off('peermoved', listener);
			resolve([from, to]);
		};
		room.on('peermoved', listener);
	});

const until = async (what: string, check: () => boolean, ms = 3000) => {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
};

describe('a room across workers', () => {
	it('places by headroom, pipes on demand, moves peers off a dead worker', { timeout: 20_000 }, async () => {
		const room = await sfu.room('spread');
		const alice = await room.join('alice', 'Alice', room.rtpCapabilities);
		const aliceSend = await alice.createTransport('send');
		const aliceMic = await alice.produce({ transportId: aliceSend.id, kind: 'audio', rtpParameters: rtp('audio', 1), source: 'microphone' });
		const aliceCam = await alice.produce({ transportId: aliceSend.id, kind: 'video', rtpParameters: rtp('video', 2), source: 'camera' });

		const bob = await room.join('bob', 'Bob', room.rtpCapabilities);
		assert.notEqual(bob.workerIndex, alice.workerIndex, 'the second peer goes to the emptier worker');
		assert.deepEqual(room.workers.sort(), [0, 1]);
		assert.equal(room.pipes, 0, 'nothing piped before anyone consumes across routers');

		const bobRecv = await bob.createTransport('recv');
		const consumer = await bob.consume(bobRecv.id, aliceCam);
		assert.equal(room.pipes, 1, 'alice\'s camera piped to bob\'s router');
		await bob.consume(bobRecv.id, aliceCam).then(
			(c) => c.close(),
			() => undefined,
		);
		assert.equal(room.pipes, 1, 'a second consumer reuses the pipe');

		// Bob's microphone must reach the speaker observer on the main router (alice's).
		const bobSend = await bob.createTransport('send');
		await bob.produce({ transportId: bobSend.id, kind: 'audio', rtpParameters: rtp('audio', 3), source: 'microphone' });
		await until('bob\'s microphone piped to the observer', () => room.pipes === 2);

		consumer.close();
		await until('the unused camera pipe closed', () => room.pipes === 1, 2000);
		assert.equal(aliceMic.closed, false);

		// Bob's worker dies: bob is moved to alice's worker; alice keeps her media.
		const bobWorker = bob.workerIndex;
		const bobMoved = moved(room, 'bob');
		process.kill(sfu.pool.workers.find((w) => w.index === bobWorker)!.worker.pid, 'SIGKILL');
		assert.deepEqual(await bobMoved, [bobWorker, alice.workerIndex], 'moved to the live worker at once');
		assert.equal(room.peer('bob'), bob);
		assert.equal(bob.transports.size, 0);
		assert.equal(aliceSend.closed, false, 'alice\'s media is untouched');
		assert.equal(aliceCam.closed, false);
		const recvAgain = await bob.createTransport('recv');
		await bob.consume(recvAgain.id, aliceCam);
		assert.equal(room.pipes, 0, 'same router: no pipe');

		// The main router's worker dies: everyone moves to the replacement of the other worker.
		// Replaced a few seconds after its death (WorkerPool: not while the live one takes its peers).
		await until('the dead worker replaced', () => sfu.pool.workers.length === 2, 6000);
		const aliceWorker = alice.workerIndex;
		const both = Promise.all([moved(room, 'alice'), moved(room, 'bob')]);
		process.kill(sfu.pool.workers.find((w) => w.index === aliceWorker)!.worker.pid, 'SIGKILL');
		const [[, aliceTo], [, bobTo]] = await both;
		assert.equal(aliceTo, bobWorker);
		assert.equal(bobTo, bobWorker);
		assert.equal(room.closed, false);
		// Publishing again reaches the new main router's speaker observer (no error, no pipe).
		const send = await alice.createTransport('send');
		await alice.produce({ transportId: send.id, kind: 'audio', rtpParameters: rtp('audio', 4), source: 'microphone' });
		assert.deepEqual(room.workers, [bobWorker]);
		room.close();
	});
});
