/** The sync-marker detector on synthetic input (what the recording sync test relies on). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { beepOnsets, flashOnsets, pairMarkers, summarize } from './syncMarkers.ts';

it('finds where beeps start in quiet audio, to the 5 ms window', () => {
	const rate = 16000;
	const samples = new Int16Array(rate * 5);
	for (let i = 0; i < samples.length; i++) samples[i] = Math.round(1000 * Math.sin(i / 7)); // a quiet tone
	for (const at of [1.0, 3.0123]) {
		for (let i = Math.round(at * rate); i < Math.round((at + 0.1) * rate); i++) samples[i] = Math.round(20000 * Math.sin((2 * Math.PI * 1000 * i) / rate));
	}
	const onsets = beepOnsets(samples, rate);
	assert.equal(onsets.length, 2, JSON.stringify(onsets));
	assert.ok(Math.abs(onsets[0]! - 1.0) <= 0.005 && Math.abs(onsets[1]! - 3.0123) <= 0.005, JSON.stringify(onsets));
});

it('finds where flashes start, and none in a picture without one', () => {
	const frames = Array.from({ length: 150 }, (_, n) => ({ t: n / 30, y: n % 60 >= 30 && n % 60 < 33 ? 235 : 50 + (n % 7) }));
	assert.deepEqual(flashOnsets(frames).map((t) => Math.round(t * 30)), [30, 90]);
	assert.deepEqual(flashOnsets(frames.map((f) => ({ ...f, y: 50 + (f.t % 1) * 20 }))), []);
});

it('pairs each flash with the nearest beep within half a period and summarises', () => {
	const d = pairMarkers([1, 3, 5], [1.05, 2.96, 9]);
	assert.deepEqual(d.map((x) => Math.round(x.driftMs)), [50, -40]);
	assert.deepEqual(summarize(d), { markers: 2, medianMs: 5, maxAbsMs: 50 });
	assert.deepEqual(summarize([]), { markers: 0, medianMs: null, maxAbsMs: null });
});
