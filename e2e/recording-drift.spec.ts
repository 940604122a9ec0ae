/**
 * Audio/video drift of a recording in real Chromium: two people whose camera is a canvas
 * that flashes and whose microphone is a WebAudio beep at the same moments
 * (bench/recording/browserMarkers.ts: every 2 s, Ann 1 s after Hana) join through the UI;
 * the host records 8 s with the Record button and stops. In the composed file the server
 * makes, each flash in a person's grid cell is paired with their beep in the mixed audio
 * (beep − flash). Two things of the source are taken out, so that what is left is what the
 * browsers' capture and encoding and the recording add:
 * - the page draws a flash at its first animation frame after the beep has started (it logs
 *   by how much, typically 16–30 ms, over 100 ms when the machine is loaded);
 * - a browser short of CPU encodes a few frames per second: the first bright frame can come
 *   up to a frame interval after the flash began (the interval is read from the person's own
 *   video file). The drift lies between the figure measured at the first bright frame and
 *   that plus the interval; that range must reach under MAX_DRIFT_MS.
 * bench/recording/browser-drift.ts measures the same with more markers and per side.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, join, test, uniqueRoom } from './fixtures.ts';
import type { RecordingInfo } from '../signaling/protocol/index.ts';
import { partStart, type ComposerPart } from '../sfu/recording/Composer.ts';
import { composedDrift } from '../bench/lib/recordingDrift.ts';
import { flashFrames, lumaPerFrame } from '../bench/lib/syncMarkers.ts';
import { installMarkerMedia, readMarkers, type FlashLog, type MarkerOptions } from '../bench/recording/browserMarkers.ts';

const RECORDINGS = fileURLToPath(new URL('./.artifacts/server-data/recordings', import.meta.url));
/** Flash (200 ms: a loaded encoder skips frames) and beep (100 ms) every 2 s; a small canvas keeps the encoders light. */
const MARKER: Omit<MarkerOptions, 'phaseMs'> = { periodMs: 2000, beepMs: 100, flashMs: 200, beepGain: 0.6, hum: 0, width: 320, height: 180, fps: 30 };
/** Largest |drift| allowed in the composed file, the page's own flash-after-beep skew taken out (ms). */
const MAX_DRIFT_MS = 100;

function manifest(room: string): { dir: string; info: RecordingInfo } | undefined {
	const base = path.join(RECORDINGS, room);
	if (!existsSync(base)) return undefined;
	for (const id of readdirSync(base)) {
		const file = path.join(base, id, 'manifest.json');
		if (existsSync(file)) return { dir: path.join(base, id), info: JSON.parse(readFileSync(file, 'utf8')) as RecordingInfo };
	}
	return undefined;
}

test('a recording keeps each person\'s audio and video in sync in the composed file (flash and beep markers)', async ({ participant }) => {
	test.setTimeout(120_000);
	const room = uniqueRoom('recsync');
	const hana = await participant('Hana');
	const ann = await participant('Ann');
	await hana.context.addInitScript(installMarkerMedia, { ...MARKER, phaseMs: 0 });
	await ann.context.addInitScript(installMarkerMedia, { ...MARKER, phaseMs: 1000 });
	await join(hana.page, { room, name: 'Hana' });
	await join(ann.page, { room, name: 'Ann' });
	await hana.page.waitForTimeout(3000); // the browsers' bandwidth estimates ramp up

	await hana.page.getByTestId('toggle-participants').click();
	await hana.page.getByTestId('host-record').click();
	await expect(hana.page.getByTestId('recording-indicator')).toBeVisible();
	await hana.page.waitForTimeout(8000); // four markers each
	await hana.page.getByTestId('host-record').click();
	await expect(hana.page.getByTestId('recording-indicator')).toHaveCount(0);
	await expect.poll(() => manifest(room)?.info.composed?.state ?? null, { timeout: 60_000 }).toBe('ready');
	const { dir, info } = manifest(room)!;

	const parts: ComposerPart[] = info.files.map((f) => ({ ...f, track: `${f.peerId}:${f.source}` }));
	const t0 = Math.min(...parts.map(partStart));
	const drifts = await composedDrift(path.join(dir, 'composed.mp4'), dir, parts, 'capture');
	const lines: string[] = [];
	const found: { name: string; low: number; high: number; text: string }[] = [];
	for (const p of [hana, ann]) {
		const peerId = info.files.find((f) => f.name === p.name)?.peerId;
		const state = await p.page.evaluate(readMarkers);
		// The person's own video frames, placed as the Composer places them: each flash's first bright frame and the gap before it.
		const frames = (
			await Promise.all(
				parts
					.filter((f) => f.kind === 'video' && f.track.startsWith(`${peerId}:`))
					.map(async (f) => flashFrames(await lumaPerFrame(path.join(dir, f.file))).map((x) => ({ ...x, t: x.t + (partStart(f) - t0) / 1000 }))),
			)
		).flat();
		const per = ((peerId && drifts.get(peerId)) || []).map((d) => {
			// The page's flash nearest to this one: the composed timeline starts at t0 on the server's clock, the page's clock is the same machine's.
			const at = t0 + d.flash * 1000;
			const drawn = state?.flashes.reduce<FlashLog | undefined>((a, b) => (a && Math.abs(a.drawnAtWall - at) < Math.abs(b.drawnAtWall - at) ? a : b), undefined);
			const pageSkew = drawn && Math.abs(drawn.drawnAtWall - at) < 500 ? (drawn.drawnAtAudio - drawn.beepAt) * 1000 : 0;
			const frame = frames.find((f) => Math.abs(f.t - d.flash) < 0.05);
			const frameGap = frame ? frame.sincePrevious * 1000 : 0;
			const low = d.driftMs + pageSkew;
			return { low, high: low + frameGap, text: `${Math.round(low)} (+0…${Math.round(frameGap)}; raw ${Math.round(d.driftMs)}, page ${Math.round(pageSkew)})` };
		});
		found.push(...per.map((x) => ({ name: p.name, ...x })));
		lines.push(`${p.name}: ${per.map((x) => x.text).join(', ') || 'no markers'}`);
	}
	console.log(`  composed file A/V drift, beep − flash without the page's skew (ms; + up to the frame interval before the flash): ${lines.join('; ')}`);
	// About four markers per person; a browser short of CPU can skip a flash.
	expect(found.length, 'markers found in the composed file').toBeGreaterThanOrEqual(3);
	for (const x of found) {
		// Within the interval the drift can be in, the value nearest 0.
		const nearest = x.low > 0 ? x.low : x.high < 0 ? x.high : 0;
		expect(Math.abs(nearest), `${x.name}: drift ${x.text} ms`).toBeLessThan(MAX_DRIFT_MS);
	}
});
