import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestLayout } from './layout.ts';

test('one tile fills a landscape stage at 16:9', () => {
	assert.deepEqual(bestLayout(1, 1240, 560), { cols: 1, width: 995, height: 560 });
});

test('two tiles side by side on a wide stage, stacked on a phone', () => {
	assert.equal(bestLayout(2, 1240, 560).cols, 2);
	const phone = bestLayout(2, 374, 700);
	assert.equal(phone.cols, 1);
	assert.ok(phone.height > phone.width * 0.9, 'portrait tiles use the height');
});

test('columns grow with the participant count', () => {
	const cols = [1, 2, 3, 4, 5, 6, 9, 10, 16].map((n) => bestLayout(n, 1600, 900).cols);
	for (let i = 1; i < cols.length; i++) assert.ok(cols[i]! >= cols[i - 1]!, `${cols}`);
	assert.equal(bestLayout(4, 1600, 900).cols, 2);
	assert.equal(bestLayout(9, 1600, 900).cols, 3);
});

test('tiles fit the stage', () => {
	for (const n of [1, 2, 3, 5, 8, 13, 25]) {
		for (const [w, h] of [[1280, 560], [390, 700], [800, 800]] as const) {
			const l = bestLayout(n, w, h);
			const rows = Math.ceil(n / l.cols);
			assert.ok(l.cols * l.width + (l.cols - 1) * 12 <= w + 1, `width n=${n} ${w}x${h}`);
			assert.ok(rows * l.height + (rows - 1) * 12 <= h + 1, `height n=${n} ${w}x${h}`);
		}
	}
});
