import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Peer, Producer } from '../Peer.ts';
import { Dynacast } from './Dynacast.ts';

function fakeProducer(): Producer {
	return {
		id: 'p1',
		kind: 'video',
		closed: false,
		appData: { peerId: 'publisher' },
		rtpParameters: { encodings: [{ scaleResolutionDownBy: 4 }, { scaleResolutionDownBy: 2 }, { scaleResolutionDownBy: 1 }] },
		observer: new EventEmitter(),
	} as unknown as Producer;
}

const viewer = (demand: () => number | undefined): Peer => ({ id: 'viewer', demandFor: () => demand() }) as unknown as Peer;

test('raising is sent at once, lowering after the delay, and a new consumer has the current layer sent again', async () => {
	let demand: number | undefined = 2;
	const sent: number[] = [];
	const dynacast = new Dynacast({ lowerDelayMs: 50, peers: () => [viewer(() => demand)], publish: (_p, layer) => sent.push(layer) });
	const producer = fakeProducer();
	dynacast.update(producer);
	assert.deepEqual(sent, [], 'a new producer encodes every layer without being told');
	dynacast.update(producer, true);
	assert.deepEqual(sent, [], 'nothing was ever said: nothing to repeat');
	demand = 0;
	dynacast.update(producer);
	assert.deepEqual(sent, []);
	await new Promise((resolve) => setTimeout(resolve, 80));
	assert.deepEqual(sent, [0]);
	dynacast.update(producer);
	assert.deepEqual(sent, [0], 'unchanged demand: not sent again');
	dynacast.update(producer, true);
	assert.deepEqual(sent, [0, 0], 'a new consumer: the current layer is repeated');
	demand = 1;
	dynacast.update(producer);
	assert.deepEqual(sent, [0, 0, 1]);
	demand = -1;
	dynacast.update(producer);
	await new Promise((resolve) => setTimeout(resolve, 80));
	dynacast.update(producer, true);
	assert.deepEqual(sent, [0, 0, 1, -1], 'nobody watching is not repeated');
	dynacast.close();
});
