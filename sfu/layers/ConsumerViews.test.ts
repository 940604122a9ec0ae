/** ConsumerViews: the layers each consumer asks for, from its viewport, and a subscriber's demand per producer. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ConsumerViews, type ViewedProducer } from './ConsumerViews.ts';

const camera: ViewedProducer = {
	id: 'cam',
	kind: 'video',
	encodings: [
		{ scaleResolutionDownBy: 4, scalabilityMode: 'L1T3' },
		{ scaleResolutionDownBy: 2, scalabilityMode: 'L1T3' },
		{ scaleResolutionDownBy: 1, scalabilityMode: 'L1T3' },
	],
	height: 720,
};
const mic: ViewedProducer = { id: 'mic', kind: 'audio', encodings: [], height: 720 };

it('a new video consumer asks for the layer of a 640x360 tile until its viewport is known; audio for none', () => {
	assert.deepEqual(ConsumerViews.initialLayers(camera), { spatialLayer: 1, temporalLayer: 2 });
	assert.equal(ConsumerViews.initialLayers(mic), null);
	const views = new ConsumerViews();
	views.add('c1', camera);
	assert.equal(views.demandFor('cam'), 1);
	assert.equal(views.demandFor('other'), undefined, 'not consumed');
});

it('a viewport picks the layers, a hidden video asks for none (demand -1) and is not resumed', () => {
	const views = new ConsumerViews();
	views.add('c1', camera);
	assert.deepEqual(views.setViewport('c1', { width: 1280, height: 720, visible: true }), { layers: { spatialLayer: 2, temporalLayer: 2 }, changed: true, ready: false });
	assert.equal(views.setViewport('c1', { width: 1280, height: 720, visible: true }).changed, false, 'the same viewport changes nothing');
	assert.deepEqual(views.setViewport('c1', { width: 0, height: 0, visible: false }), { layers: null, changed: true, ready: false });
	assert.equal(views.demandFor('cam'), -1, 'consumed, shown nowhere');
	assert.equal(views.ready('c1', 'video'), false, 'hidden: not resumed when its client is ready');
	assert.equal(views.setViewport('c1', { width: 320, height: 180, visible: true }).ready, true, 'shown again: resumed, its client being ready');
});

it("a subscriber's demand is the highest layer over its consumers of that producer, and a closed one counts no more", () => {
	const views = new ConsumerViews();
	views.add('c1', camera);
	views.add('c2', camera);
	views.add('a1', mic);
	views.setViewport('c1', { width: 160, height: 90, visible: true });
	views.setViewport('c2', { width: 1280, height: 720, visible: true });
	assert.equal(views.demandFor('cam'), 2);
	views.delete('c2');
	assert.equal(views.demandFor('cam'), 0);
	assert.equal(views.ready('a1', 'audio'), true);
	assert.throws(() => views.ready('gone', 'video'), /no view of consumer gone/);
});
