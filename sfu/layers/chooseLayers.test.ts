import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLayers, layoutOf } from './chooseLayers.ts';

const simulcast = [
	{ rid: 'r0', scaleResolutionDownBy: 4, scalabilityMode: 'L1T3' },
	{ rid: 'r1', scaleResolutionDownBy: 2, scalabilityMode: 'L1T3' },
	{ rid: 'r2', scaleResolutionDownBy: 1, scalabilityMode: 'L1T3' },
];

describe('layer choice', () => {
	it('reads simulcast and SVC layouts', () => {
		assert.deepEqual(layoutOf(simulcast, 720), { heights: [180, 360, 720], temporalLayers: 3 });
		assert.deepEqual(layoutOf([{ scalabilityMode: 'L3T3_KEY' }], 720), { heights: [180, 360, 720], temporalLayers: 3 });
		assert.deepEqual(layoutOf([{ ssrc: 1 }], 480), { heights: [480], temporalLayers: 1 });
	});

	it('picks the lowest layer that is sharp enough for the tile', () => {
		const layout = layoutOf(simulcast, 720);
		const at = (height: number) => chooseLayers(layout, { width: Math.round((height * 16) / 9), height, visible: true });
		assert.deepEqual(at(90), { spatialLayer: 0, temporalLayer: 1 });
		assert.deepEqual(at(180), { spatialLayer: 0, temporalLayer: 2 });
		assert.deepEqual(at(220), { spatialLayer: 0, temporalLayer: 2 }, 'within the sharpness tolerance');
		assert.deepEqual(at(300), { spatialLayer: 1, temporalLayer: 2 });
		assert.deepEqual(at(450), { spatialLayer: 1, temporalLayer: 2 }, '360p upscaled by 1.25 is fine');
		assert.deepEqual(at(500), { spatialLayer: 2, temporalLayer: 2 });
		assert.deepEqual(at(1440), { spatialLayer: 2, temporalLayer: 2 }, 'never above the top layer');
	});

	it('pauses what is not visible', () => {
		const layout = layoutOf(simulcast, 720);
		assert.equal(chooseLayers(layout, { width: 640, height: 360, visible: false }), null);
		assert.equal(chooseLayers(layout, { width: 0, height: 0, visible: true }), null);
	});
});
