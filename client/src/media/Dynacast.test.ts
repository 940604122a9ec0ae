import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dynacast } from './Dynacast.ts';
import type { LocalProducer } from './types.ts';

/** A simulcast producer whose RTCRtpSender is a plain object; `failNext` makes setParameters throw (a concurrent change). */
function fakeProducer(layers = 3) {
	const encodings = Array.from({ length: layers }, () => ({ active: true }));
	const state = { failNext: 0, sets: 0, maxSpatialLayer: layers - 1 };
	const sender = {
		getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
		setParameters: async (p: { encodings: { active: boolean }[] }) => {
			if (state.failNext > 0) {
				state.failNext--;
				throw new Error('InvalidModificationError: another change is under way');
			}
			state.sets++;
			p.encodings.forEach((e, i) => (encodings[i]!.active = e.active));
		},
	};
	const producer = {
		id: 'prod-1',
		closed: false,
		kind: 'video',
		appData: { source: 'camera' },
		rtpParameters: { encodings: encodings.map(() => ({})) },
		rtpSender: sender,
		setMaxSpatialLayer: async (layer: number) => {
			state.maxSpatialLayer = layer;
		},
	} as unknown as LocalProducer;
	return { producer, encodings, state };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 900));

test('a change that fails (a concurrent setParameters) is tried again until the encoder follows', async () => {
	const dynacast = new Dynacast();
	const { producer, encodings, state } = fakeProducer();
	dynacast.want(producer.id, 0, producer);
	await settle();
	assert.deepEqual(encodings.map((e) => e.active), [true, false, false]);
	state.failNext = 2;
	dynacast.want(producer.id, 2, producer);
	await settle();
	assert.deepEqual(encodings.map((e) => e.active), [true, true, true], 'raised despite two failures');
	assert.equal(dynacast.appliedFor(producer.id), 2);
	assert.equal(state.maxSpatialLayer, 2);
});

test('the same layer asked again has the sender checked and set straight if it drifted', async () => {
	const dynacast = new Dynacast();
	const { producer, encodings, state } = fakeProducer();
	dynacast.want(producer.id, 2, producer);
	await settle();
	const before = state.sets;
	dynacast.want(producer.id, 2, producer);
	await settle();
	assert.equal(state.sets, before, 'nothing to fix: no setParameters');
	// Something else turned the layers off behind dynacast's back.
	for (const e of encodings) e.active = false;
	dynacast.want(producer.id, 2, producer);
	await settle();
	assert.deepEqual(encodings.map((e) => e.active), [true, true, true]);
});
