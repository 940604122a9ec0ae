/**
 * A room's producers of other nodes (cascading), on a real mediasoup worker: one produced on
 * the room's main router (as a link would) is found and consumed as any other, and once
 * nobody consumes it any more the room says so (the node then stops pulling it); a room held
 * by a link stays open while empty.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { Sfu, type Producer } from './index.ts';
import { randomMediaPort } from '../test/ports.ts';

let sfu: Sfu;
before(async () => {
	const config = loadConfig({
		env: {
			PARLEY_DEV: 'true',
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(randomMediaPort()),
			PARLEY_ROOMS_EMPTY_TIMEOUT_MS: '200',
			PARLEY_PLACEMENT_PIPE_IDLE_MS: '100',
		},
	});
	sfu = await Sfu.create(config, pino({ level: 'silent' }));
});
after(() => sfu.close());

it('consumes another node\'s producer as any other, says when nobody consumes it, and stays open while held', { timeout: 15_000 }, async () => {
	const room = await sfu.room('remote');
	const release = room.hold();
	const direct = await room.mainRouter!.createDirectTransport();
	const remote = (await direct.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
			encodings: [{ ssrc: 5555 }],
		},
		appData: { peerId: 'far', source: 'microphone', dimensions: { width: 0, height: 0 }, remoteNode: 'node-b' },
	})) as unknown as Producer;
	room.addRemoteProducer(remote);
	assert.equal(room.has(remote.id), true);
	assert.equal(room.producer(remote.id), remote);
	assert.deepEqual(room.remotePeersVia('node-b'), ['far']);
	assert.equal(room.peers.size, 0, 'not a peer of this node');

	const unused: string[] = [];
	room.on('remoteunused', (id) => unused.push(id));
	const peer = await room.join('ann', 'Ann', room.rtpCapabilities);
	const transport = await peer.createTransport('recv');
	const consumer = await peer.consume(transport.id, room.producer(remote.id));
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual(unused, [], 'consumed: still needed');
	consumer.close();
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual(unused, [remote.id], 'nobody consumes it any more');

	peer.close();
	await new Promise((r) => setTimeout(r, 400));
	assert.equal(room.closed, false, 'held by a link: open while empty');
	release();
	await new Promise((r) => setTimeout(r, 400));
	assert.equal(room.closed, true, 'closed once empty and released');
	assert.equal(remote.closed, true, 'the remote producer closed with the room');
});
