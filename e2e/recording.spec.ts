/**
 * Recording in real Chromium (dev mode: the first to arrive is host): the host starts
 * recording from the call page; everyone in the call sees the indicator, and so does
 * someone still in the lobby before they join (consent); a participant has no record
 * button. While it records, a participant mutes and unmutes, and the latecomer shares a
 * screen. The host stops it and everyone's indicator goes. Every file the server wrote is
 * checked with ffprobe/ffmpeg: the expected tracks (a muted microphone ends its file and
 * unmuting starts a new one), the codec, a duration that covers its wall-clock span (printed;
 * a loose floor, see below), and frames that decode without an error. The host lists the recordings and
 * downloads a file and the composed MP4.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, join, openLobby, test, uniqueRoom } from './fixtures.ts';
import { decodeErrors, probe } from '../test/ffprobe.ts';
import type { RecordingInfo } from '../signaling/protocol/index.ts';

const RECORDINGS = fileURLToPath(new URL('./.artifacts/server-data/recordings', import.meta.url));

function manifests(room: string): RecordingInfo[] {
	const dir = path.join(RECORDINGS, room);
	if (!existsSync(dir)) return [];
	return readdirSync(dir)
		.map((id) => path.join(dir, id, 'manifest.json'))
		.filter((f) => existsSync(f))
		.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RecordingInfo);
}

test('the host records: everyone sees the indicator, the lobby too; the files play', async ({ participant }) => {
	// About 25 s on a quiet machine (39 s-1.6 min in CI runs); three browsers with real media need
	// more on a loaded one: at load average 18 it took 2.2 min (every step slow, the files now
	// being the top simulcast layer make decoding and composing them slower).
	test.setTimeout(180_000);
	const room = uniqueRoom('rec');
	// Hana and Ann publish camera and microphone; Carl has neither (it keeps the spec light) but shares a screen.
	const hana = await participant('Hana');
	const ann = await participant('Ann');
	const carl = await participant('Carl', { noMedia: true });

	await test.step('host and participant in the call, nobody recording', async () => {
		await join(hana.page, { room, name: 'Hana' });
		await join(ann.page, { room, name: 'Ann' });
		await openLobby(carl.page, { room, name: 'Carl', waitForPreview: false });
		await expect(hana.page.getByTestId('recording-indicator')).toHaveCount(0);
		await ann.page.getByTestId('toggle-participants').click();
		await expect(ann.page.getByTestId('members')).toBeVisible();
		await expect(ann.page.getByTestId('host-record'), 'a participant has no record button').toHaveCount(0);
	});

	await test.step('the host starts recording: the indicator shows in the call and in the lobby', async () => {
		await hana.page.getByTestId('toggle-participants').click();
		await hana.page.getByTestId('host-record').click();
		await expect(hana.page.getByTestId('recording-indicator')).toBeVisible();
		await expect(ann.page.getByTestId('recording-indicator')).toBeVisible();
		await expect(carl.page.getByTestId('lobby-recording')).toBeVisible({ timeout: 10_000 });
		await expect(hana.page.getByTestId('host-record')).toHaveText('Stop recording');
	});

	await test.step('someone joining later sees it at once, and shares a screen; a participant mutes and unmutes', async () => {
		await carl.page.getByTestId('join-button').click();
		await expect(carl.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(carl.page.getByTestId('recording-indicator')).toBeVisible();
		await carl.page.getByTestId('toggle-screen').click();
		await expect(carl.page.getByTestId('toggle-screen')).toHaveAttribute('data-state', 'on');
		const annMic = ann.page.getByTestId('toggle-mic');
		await hana.page.waitForTimeout(1500);
		await annMic.click();
		await expect(annMic).toHaveAttribute('data-state', 'off');
		await hana.page.waitForTimeout(1500);
		await annMic.click();
		await expect(annMic).toHaveAttribute('data-state', 'on');
	});

	await test.step('the host stops: the indicator goes for everyone; every file plays for as long as it was recorded', async () => {
		await hana.page.waitForTimeout(2500); // a few seconds of media after the unmute
		await hana.page.getByTestId('host-record').click();
		for (const p of [hana, ann, carl]) await expect(p.page.getByTestId('recording-indicator')).toHaveCount(0);
		await expect.poll(() => manifests(room)[0]?.endedAt ?? null, { timeout: 15_000 }).not.toBeNull();
		const [info] = manifests(room);
		const files = info!.files;
		const tracks = (name: string) => files.filter((f) => f.name === name).map((f) => `${f.source}:${f.end}`).sort();
		expect(tracks('Hana')).toEqual(['camera:stopped', 'microphone:stopped']);
		// Muting ends the microphone's file; unmuting starts the next one.
		expect(tracks('Ann')).toEqual(['camera:stopped', 'microphone:paused', 'microphone:stopped']);
		expect(tracks('Carl')).toEqual(['screen:stopped']);
		const report: string[] = [];
		for (const f of files) {
			const file = path.join(RECORDINGS, room, info!.id, f.file);
			const p = await probe(file);
			// The file's wall-clock span: from its first frame's capture (a screen share's encoder
			// starts well after its track is there) to the end of its recording.
			const span = (f.endedAt - (f.capturedAt ?? f.startedAt)) / 1000;
			report.push(
				`${f.name} ${f.source} ${p.durationSec.toFixed(2)} s of ${span.toFixed(2)} s (first frame captured ${f.capturedAt ? `${f.capturedAt - f.startedAt} ms after the file's start` : 'at an unknown time'})`,
			);
			expect(p.codec, f.file).toBe(f.kind === 'video' ? 'vp8' : 'opus');
			// Loose floor (the figure is reported): on an idle machine every file is within 0.5 s of its
			// span (0.03-0.48 s measured); with the 2 cores overloaded the browsers' encoders starve and
			// a video file can be seconds short because the frames were never sent.
			expect(p.durationSec, `${f.file}: ${p.durationSec} s recorded for ${span} s of wall clock`).toBeGreaterThan(0.5 * span);
			expect(p.durationSec, `${f.file}: no longer than its span`).toBeLessThan(span + 0.5);
			expect(await decodeErrors(file), `${f.file} decodes without errors`).toBe('');
		}
		console.log(`  recorded files: ${report.join('; ')}`);
	});

	await test.step('the host lists the recordings and downloads a file and the composed meeting', async () => {
		await hana.page.getByTestId('host-recordings').click();
		const item = hana.page.getByTestId('recording-item').first();
		await expect(item.getByTestId('recording-file')).toHaveCount(6);
		const href = await item.getByTestId('recording-file').first().getAttribute('href');
		expect((await hana.page.request.get(href!)).status()).toBe(200);
		// Up to 90 s (30 s until a CI run on a slower machine saw it still "composing"): the
		// composer runs at nice 10 so the live call keeps the CPU, and three browsers are still in
		// the call; the state asserted is the same.
		const t0 = Date.now();
		await expect(item.getByTestId('recording-composed')).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
		console.log(`  composed file ready ${Date.now() - t0} ms after the list showed the files`);
		const composed = await item.getByTestId('recording-download-composed').getAttribute('href');
		const res = await hana.page.request.get(composed!);
		expect(res.status()).toBe(200);
		expect(res.headers()['content-type']).toBe('video/mp4');
	});
});
