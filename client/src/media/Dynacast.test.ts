import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Dynacast } from './Dynacast.ts';
import type { LocalProducer } from './types.ts';

/** A simulcast producer with three encodings: what its sender has active, and its setMaxSpatialLayer calls. */
function fakeProducer(source: string, encodings = 3): { producer: LocalProducer; active: () => boolean[]; maxLayers: number[] } {
	let params = { encodings: Array.from({ length: encodings }, () => ({ active: true }) as { active: boolean; maxFramerate?: number }) };
	const maxLayers: number[] = [];
	const producer = {
		id: `${source}-producer`,
		closed: false,
		appData: { source },
		rtpParameters: { encodings: Array.from({ length: encodings }, (_, i) => ({ rid: `r${i}` })) },
		rtpSender: {
			getParameters: () => structuredClone(params),
			setParameters: async (p: typeof params) => {
				params = structuredClone(p);
			},
		},
		setMaxSpatialLayer: async (layer: number) => {
			maxLayers.push(layer);
		},
	};
	return { producer: producer as unknown as LocalProducer, active: () => params.encodings.map((e) => e.active), maxLayers };
}

const settle = () => sleep(5);

test('after a move the camera keeps to its lowest layer for the hold, then gets what the SFU wants', async () => {
	const dynacast = new Dynacast();
	const camera = fakeProducer('camera');
	const screen = fakeProducer('screen');
	dynacast.holdLowest(80, () => [camera.producer, screen.producer]);
	assert.equal(dynacast.startLayer('camera'), 0, 'a camera published during the hold starts with its lowest layer');
	assert.equal(dynacast.startLayer('screen'), undefined, 'a screen share is not held');
	dynacast.want(camera.producer.id, 1, camera.producer);
	dynacast.want(screen.producer.id, 2, screen.producer);
	await settle();
	assert.deepEqual(camera.active(), [true, false, false], 'held: only the lowest layer is encoded');
	assert.equal(dynacast.appliedFor(camera.producer.id), 0);
	assert.deepEqual(screen.active(), [true, true, true]);
	await sleep(120);
	assert.deepEqual(camera.active(), [true, true, false], 'released: the layer the SFU asked for');
	assert.deepEqual(camera.maxLayers, [0, 1]);
	assert.equal(dynacast.startLayer('camera'), 1, 'what the SFU wanted is remembered, not the hold');
});

test('a reset ends the hold (a new session sets its own)', async () => {
	const dynacast = new Dynacast();
	dynacast.holdLowest(10_000, () => []);
	dynacast.reset();
	assert.equal(dynacast.startLayer('camera'), undefined);
	const camera = fakeProducer('camera');
	dynacast.want(camera.producer.id, 2, camera.producer);
	await settle();
	assert.deepEqual(camera.active(), [true, true, true]);
});
