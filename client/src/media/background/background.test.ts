import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
	classifyEffectError,
	coverRect,
	describeEffectError,
	EffectError,
	fillInput,
	FrameMeter,
	nextModelRunAt,
	parseBackgroundMode,
	processingSize,
	writeMask,
} from './background.ts';

describe('background effect: pure parts', () => {
	it('reads a remembered mode, anything unknown is none', () => {
		assert.equal(parseBackgroundMode('blur'), 'blur');
		assert.equal(parseBackgroundMode('image'), 'image');
		assert.equal(parseBackgroundMode('none'), 'none');
		assert.equal(parseBackgroundMode(null), 'none');
		assert.equal(parseBackgroundMode('sparkles'), 'none');
	});

	it('cuts a picture to cover the frame, centred, without stretching', () => {
		assert.deepEqual(coverRect(1000, 1000, 1280, 720), { x: 0, y: 218.75, width: 1000, height: 562.5 });
		assert.deepEqual(coverRect(1600, 600, 640, 480), { x: 400, y: 0, width: 800, height: 600 });
		assert.deepEqual(coverRect(640, 360, 1280, 720), { x: 0, y: 0, width: 640, height: 360 });
	});

	it('works at most the given width, keeping the aspect in even pixels', () => {
		assert.deepEqual(processingSize(1280, 720, 640), { width: 640, height: 360 });
		assert.deepEqual(processingSize(640, 480, 1280), { width: 640, height: 480 });
		assert.deepEqual(processingSize(1001, 563, 1000), { width: 1000, height: 562 });
		assert.deepEqual(processingSize(0, 480, 1280), { width: 0, height: 0 });
	});

	it('runs the model at most every interval, and at most half of the time', () => {
		assert.equal(nextModelRunAt(1000, 20, 66), 1066);
		assert.equal(nextModelRunAt(1000, 80, 66), 1160);
		assert.equal(nextModelRunAt(0, 0, 66), 66);
	});

	it('feeds RGB in [0, 1] to the model and turns its person probability into alpha', () => {
		const rgba = new Uint8ClampedArray([255, 0, 51, 7, 0, 255, 102, 9]);
		const input = new Float32Array(2 + 6);
		fillInput(rgba, input, 2, 2);
		assert.deepEqual([...input].map((v) => Math.round(v * 100) / 100), [0, 0, 1, 0, 0.2, 0, 1, 0.4]);
		const output = new Float32Array([0.5, 1, 0]);
		const mask = new Uint8ClampedArray(8).fill(3);
		writeMask(output, 1, mask, 2);
		assert.deepEqual([...mask], [3, 3, 3, 255, 3, 3, 3, 0]);
	});

	it('measures the time per frame and the frame rate over a sliding window', () => {
		const meter = new FrameMeter(1000);
		assert.deepEqual(meter.summary(0), { msPerFrame: null, fps: 0, frames: 0 });
		for (let i = 0; i < 30; i++) meter.record(i * 33.3, i * 33.3 + 10);
		assert.deepEqual(meter.summary(1000), { msPerFrame: 10, fps: 30, frames: 30 });
		for (let i = 30; i < 60; i++) meter.record(i * 33.3, i * 33.3 + 20);
		const later = meter.summary(2000);
		assert.equal(later.msPerFrame, 20);
		assert.equal(later.fps, 30);
		assert.equal(later.frames, 60);
		assert.deepEqual(meter.summary(5000), { msPerFrame: null, fps: 0, frames: 60 });
		meter.reset();
		assert.equal(meter.summary(5000).frames, 0);
	});

	it('tells the person in plain words why the effect cannot start', () => {
		assert.match(describeEffectError('unsupported'), /cannot process camera video/);
		assert.match(describeEffectError('wasm-blocked'), /WebAssembly is not allowed/);
		assert.match(describeEffectError('load-failed'), /could not be loaded/);
		assert.match(describeEffectError('timeout'), /too long/);
		assert.match(describeEffectError('unknown'), /failed to start/);
		assert.equal(classifyEffectError(new EffectError('timeout')), 'timeout');
		assert.equal(classifyEffectError(new Error('CompileError: WebAssembly.instantiate(): Refused to compile')), 'wasm-blocked');
		assert.equal(classifyEffectError(new TypeError('Failed to fetch')), 'load-failed');
		assert.equal(classifyEffectError('odd'), 'unknown');
	});

	it('ships the vendored model runtime listed in its README, unchanged', () => {
		const dir = new URL('../../../vendor/tflite/', import.meta.url);
		const readme = readFileSync(new URL('README.md', dir), 'utf8');
		for (const file of ['tflite-simd.js', 'tflite-simd.wasm']) {
			const sha = createHash('sha256').update(readFileSync(new URL(file, dir))).digest('hex');
			assert.ok(readme.includes(`| ${file} | ${sha} |`), `${file} sha256 ${sha} is in vendor/tflite/README.md`);
		}
	});
});
