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

/** A producer whose sender and renegotiation take a while (a busy page), and which, like mediasoup-client, skips a renegotiation to the layer it is at. */
function slowProducer(senderMs: number, renegotiationMs: number) {
	const encodings = [{ active: true }, { active: true }, { active: true }];
	const log: string[] = [];
	let max = 2;
	const producer = {
		id: 'slow-producer',
		closed: false,
		appData: { source: 'camera' },
		rtpParameters: { encodings: [{}, {}, {}] },
		rtpSender: {
			getParameters: () => ({ encodings: encodings.map((e) => ({ ...e })) }),
			async setParameters(parameters: { encodings: { active: boolean }[] }) {
				await sleep(senderMs);
				parameters.encodings.forEach((e, i) => (encodings[i]!.active = e.active));
				log.push(`sender ${encodings.map((e) => (e.active ? 1 : 0)).join('')}`);
			},
		},
		async setMaxSpatialLayer(layer: number) {
			if (layer === max) return;
			await sleep(renegotiationMs);
			max = layer;
			log.push(`renegotiated ${layer}`);
		},
	};
	return { producer: producer as unknown as LocalProducer, log, active: () => encodings.map((e) => e.active) };
}

test('a raise that comes while a lowering reaches the sender goes to the sender without the lowering’s renegotiation', async () => {
	const dynacast = new Dynacast();
	const fake = slowProducer(30, 200);
	dynacast.want(fake.producer.id, 1, fake.producer);
	await sleep(300);
	fake.log.length = 0;
	dynacast.want(fake.producer.id, -1, fake.producer); // the last viewer left
	await sleep(10);
	const raisedAt = performance.now();
	dynacast.want(fake.producer.id, 1, fake.producer); // a newcomer, while the sender is being changed
	while (fake.active().join() !== 'true,true,false') await sleep(5);
	const ms = performance.now() - raisedAt;
	assert.ok(ms < 150, `the newcomer's layer is on the sender in ${Math.round(ms)} ms, not after the lowering's renegotiation (200 ms)`);
	await sleep(300);
	assert.deepEqual(fake.log, ['sender 000', 'sender 110'], 'no renegotiation for -1 (nor for 1: mediasoup-client is still at 1)');
	assert.equal(dynacast.appliedFor(fake.producer.id), 1);
});

test('a lowering with nobody asking for more is renegotiated as before', async () => {
	const dynacast = new Dynacast();
	const fake = slowProducer(5, 20);
	dynacast.want(fake.producer.id, 2, fake.producer);
	await sleep(100);
	fake.log.length = 0;
	dynacast.want(fake.producer.id, 0, fake.producer);
	await sleep(100);
	assert.deepEqual(fake.log, ['sender 100', 'renegotiated 0']);
	assert.equal(dynacast.appliedFor(fake.producer.id), 0);
});

test('a frame-rate-only cap changes the lowest layer’s rate, leaves the layers to the SFU, and goes back to the default after', async () => {
	const dynacast = new Dynacast();
	const camera = fakeProducer('camera');
	const lowFps = async (): Promise<number | undefined> => (camera.producer.rtpSender!.getParameters().encodings[0] as { maxFramerate?: number }).maxFramerate;
	dynacast.cap(camera.producer, null, 30);
	await settle();
	assert.equal(await lowFps(), undefined, 'nothing applied before the SFU says what it wants');
	dynacast.want(camera.producer.id, 1, camera.producer);
	await settle();
	assert.deepEqual(camera.active(), [true, true, false], 'the layers the SFU wants');
	assert.equal(await lowFps(), 30);
	assert.equal(dynacast.capFor(camera.producer.id), null, 'no layer cap');
	dynacast.want(camera.producer.id, 2, camera.producer);
	await settle();
	assert.deepEqual(camera.active(), [true, true, true]);
	assert.equal(await lowFps(), 30, 'kept across layer changes');
	dynacast.cap(camera.producer, null, null);
	await settle();
	assert.equal(await lowFps(), 15, 'back to the default lowest-layer rate');
});
