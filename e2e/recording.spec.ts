/**
 * Recording in real Chromium (dev mode: the first to arrive is host): the host starts
 * recording from the call page; everyone in the call sees the indicator, and so does
 * someone still in the lobby before they join (consent); a participant has no record
 * button; the host stops it and everyone's indicator goes. The files the server wrote
 * are checked with ffprobe (the host's camera in VP8, the microphone in Opus); the host
 * lists the recordings and downloads a file and the composed MP4.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, join, openLobby, test, uniqueRoom } from './fixtures.ts';
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
	// About 25 s on a quiet machine; three browsers with real media need more on a loaded one.
	test.setTimeout(120_000);
	const room = uniqueRoom('rec');
	// Only the host publishes (camera and microphone): the others watch, which keeps the spec light.
	const hana = await participant('Hana');
	const ann = await participant('Ann', { noMedia: true });
	const carl = await participant('Carl', { noMedia: true });

	await test.step('host and participant in the call, nobody recording', async () => {
		await join(hana.page, { room, name: 'Hana' });
		await join(ann.page, { room, name: 'Ann', waitForPreview: false });
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

	await test.step('someone joining later sees it at once', async () => {
		await carl.page.getByTestId('join-button').click();
		await expect(carl.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(carl.page.getByTestId('recording-indicator')).toBeVisible();
	});

	await test.step('the host stops: the indicator goes for everyone; the files play', async () => {
		await hana.page.waitForTimeout(3000); // a few seconds of media
		await hana.page.getByTestId('host-record').click();
		for (const p of [hana, ann, carl]) await expect(p.page.getByTestId('recording-indicator')).toHaveCount(0);
		await expect.poll(() => manifests(room)[0]?.endedAt ?? null, { timeout: 15_000 }).not.toBeNull();
		const [info] = manifests(room);
		const hanaFiles = info!.files.filter((f) => f.name === 'Hana');
		expect(hanaFiles.map((f) => f.source).sort()).toEqual(['camera', 'microphone']);
		for (const f of hanaFiles) {
			const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path.join(RECORDINGS, room, info!.id, f.file)]).toString().trim();
			expect(out).toBe(f.kind === 'video' ? 'vp8' : 'opus');
		}
	});

	await test.step('the host lists the recordings and downloads a file and the composed meeting', async () => {
		await hana.page.getByTestId('host-recordings').click();
		const item = hana.page.getByTestId('recording-item').first();
		await expect(item.getByTestId('recording-file')).toHaveCount(2);
		const href = await item.getByTestId('recording-file').first().getAttribute('href');
		expect((await hana.page.request.get(href!)).status()).toBe(200);
		await expect(item.getByTestId('recording-composed')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
		const composed = await item.getByTestId('recording-download-composed').getAttribute('href');
		const res = await hana.page.request.get(composed!);
		expect(res.status()).toBe(200);
		expect(res.headers()['content-type']).toBe('video/mp4');
	});
});
