import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridLayout, spotlightLayout, type TileRect } from './stageLayout.ts';

const inside = (r: TileRect, w: number, h: number): boolean => r.x >= 0 && r.y >= 0 && r.x + r.width <= w + 1 && r.y + r.height <= h + 1;
const overlap = (a: TileRect, b: TileRect): boolean =>
	a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('grid: every tile on the stage, none overlapping, rows centred', () => {
	for (const n of [1, 2, 3, 5, 7]) {
		const { rects } = gridLayout(n, 1240, 580);
		assert.equal(rects.length, n);
		for (const r of rects) assert.ok(inside(r, 1240, 580), `n=${n} ${JSON.stringify(r)}`);
		for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.ok(!overlap(rects[i]!, rects[j]!), `n=${n} ${i}/${j}`);
		assert.ok(rects.every((r) => r.slot === 'grid'));
	}
	// Three tiles on two rows: the last row is centred.
	const three = gridLayout(3, 1000, 1000).rects;
	assert.equal(three[2]!.x, Math.round((1000 - three[2]!.width) / 2));
});

test('spotlight (landscape): a large 16:9 main tile and a strip on the right', () => {
	const { rects, overflow } = spotlightLayout(3, 1, 1240, 580);
	assert.equal(overflow, 0);
	const main = rects[1]!;
	assert.equal(main.slot, 'main');
	assert.ok(main.height > 450, 'large enough for the 720p layer');
	assert.ok(Math.abs(main.width / main.height - 16 / 9) < 0.02);
	for (const i of [0, 2]) {
		assert.equal(rects[i]!.slot, 'strip');
		assert.ok(rects[i]!.height < 180, 'strip tiles are thumbnails');
		assert.ok(rects[i]!.x > main.x + main.width, 'strip beside the main tile');
	}
	for (const r of rects) assert.ok(inside(r, 1240, 580));
});

test('spotlight (portrait): the strip goes below, its tiles narrower rather than left out', () => {
	const { rects } = spotlightLayout(2, 0, 390, 700);
	assert.ok(rects[1]!.y >= rects[0]!.y + rects[0]!.height);
	for (const r of rects) assert.ok(inside(r, 390, 700));
	const three = spotlightLayout(3, 2, 374, 700);
	assert.equal(three.overflow, 0);
	assert.deepEqual(three.rects.slice(0, 2).map((r) => r.slot), ['strip', 'strip']);
	for (const r of three.rects) assert.ok(inside(r, 374, 700));
});

test('a screen share fills the main area; too many strip tiles are hidden behind "+N"', () => {
	const layout = spotlightLayout(12, 11, 1240, 580, { fillMain: true });
	assert.equal(layout.rects[11]!.width, 1240 - layout.rects[0]!.width - 12);
	const hidden = layout.rects.filter((r) => r.slot === 'hidden').length;
	const strip = layout.rects.filter((r) => r.slot === 'strip').length;
	assert.ok(hidden > 0);
	assert.equal(layout.overflow, hidden);
	assert.ok(layout.overflowRect);
	assert.equal(strip + hidden, 11);
	for (const r of layout.rects.filter((x) => x.slot === 'strip')) assert.ok(!overlap(r, layout.overflowRect!));
});

test('one tile, or no valid main index: a plain grid', () => {
	assert.equal(spotlightLayout(1, 0, 800, 600).rects[0]!.slot, 'main');
	assert.equal(spotlightLayout(3, 5, 800, 600).rects.length, 3);
});
