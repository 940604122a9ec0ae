/**
 * Simulcast, per-viewer layers and dynacast, through the real UI:
 * - a publisher at 1280x720 sends three VP8 layers (320/640/1280 wide) while someone
 *   shows it large;
 * - the viewer's tile made small (pinning their own tile puts the publisher in the strip)
 *   makes the viewer receive the lowest layer, large brings the top one back; a window
 *   resize also switches; each switch is timed (action → first frame presented at the
 *   new width);
 * - dynacast: with the only viewer showing a small tile, the publisher stops encoding the
 *   upper layers, and starts again when the tile is large;
 * - a tile whose video the viewer turns off pauses its consumer (no more frames decoded)
 *   and, nobody watching, the publisher stops encoding altogether.
 * Writes e2e/.artifacts/simulcast.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeInbound, expect, join, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { inboundFor, percentile, readOutboundVideo, tileTrackId, timeDecodeResume, timeWidthChange } from './media-helpers.ts';

const OUT = fileURLToPath(new URL('./.artifacts/simulcast.json', import.meta.url));
/** The median switch between layers the publisher is encoding (the target is 200 ms; measured 430-790 ms under CI load). */
const SWITCH_MEDIAN_FLOOR_MS = 1000;
/** Any one switch (a single switch took 1616 ms in one CI run in ~10, on a busy 2-core machine). */
const SWITCH_FLOOR_MS = 3000;
/** Bringing back a layer that dynacast had turned off also waits for the publisher's encoder. */
const REACTIVATE_FLOOR_MS = 8000;
const CYCLES = 4;

test('simulcast layers follow the viewer’s tile size; hidden tiles pause; dynacast stops unused layers', async ({ participant }) => {
	test.setTimeout(200_000);
	const room = uniqueRoom('simulcast');
	const pub = await participant('Pub');
	const viewer = await participant('Viewer');
	await join(pub.page, { room, name: 'Pub' });
	await join(viewer.page, { room, name: 'Viewer' });

	const pubTile = '[data-testid="tile"][data-local="false"][data-peer-name="Pub"]';
	const pinSelf = '[data-testid="tile"][data-local="true"] [data-testid="pin"]';
	await expect(remoteTile(viewer.page, 'Pub')).toHaveAttribute('data-video', 'on');
	const trackId = await tileTrackId(viewer.page, pubTile);
	expect(trackId, 'the tile plays a remote track').toBeTruthy();
	const decodedWidth = async (): Promise<number> => (await inboundFor(viewer.page, trackId!))?.frameWidth ?? 0;
	const outbound = async (rid: string) => (await readOutboundVideo(pub.page)).find((s) => s.rid === rid);
	/**
	 * The top layer's width as the publisher encodes it now: 1280, unless Chromium scaled its
	 * layers down for CPU (the top one was 960 wide in a CI run on a slower machine, and a switch
	 * up waiting for 1280 timed out although the viewer got the top layer).
	 */
	const topWidth = async (): Promise<number> => {
		const r2 = await outbound('r2');
		// Over 640 all the same: the middle layer is not the top one.
		return Math.max(641, Math.min(1280, r2?.frameWidth || 1280));
	};
	/** The publisher's uplink marks (name@ms: judged lossy or clean), to tell why a layer did not come. */
	const uplinkMarks = async (): Promise<string[]> =>
		pub.page.evaluate(() =>
			(globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string; startTime: number }[] } }).performance
				.getEntriesByType('mark')
				.filter((m) => m.name.startsWith('parley:uplink'))
				.map((m) => `${m.name.slice('parley:'.length)}@${Math.round(m.startTime)}`),
		);
	/** Whether the publisher is sending its top layer now (r2's bytes grow over half a second). */
	const sendingTop = async (): Promise<boolean> => {
		const before = (await outbound('r2'))?.bytesSent ?? 0;
		await pub.page.waitForTimeout(500);
		return ((await outbound('r2'))?.bytesSent ?? 0) > before;
	};
	/** Waits for the viewer to decode the top layer; if it does not, says what the publisher sends and why. */
	const expectTopLayer = async (message: string, timeout: number): Promise<void> => {
		try {
			await expect.poll(async () => (await decodedWidth()) >= (await topWidth()), { message, timeout }).toBe(true);
		} catch (error) {
			const sent = (await readOutboundVideo(pub.page)).map((s) => `${s.rid} active=${s.active} ${s.frameWidth}px ${s.framesPerSecond}fps limited by ${s.qualityLimitationReason}`);
			const marks = await uplinkMarks();
			console.log(`${message}: not reached. Publisher sends: ${sent.join('; ')}; marks ${marks.join(' ')}\n${await describeInbound(viewer.page)}`);
			throw error;
		}
	};

	const figures: Record<string, unknown> = {};
	const down: number[] = [];
	const up: number[] = [];

	await test.step('speaker layout: the publisher is large and the viewer gets the 1280 layer', async () => {
		await viewer.page.getByTestId('toggle-layout').click();
		await expect(viewer.page.getByTestId('grid')).toHaveAttribute('data-main', /^camera:/);
		await expect(remoteTile(viewer.page, 'Pub')).toHaveAttribute('data-slot', 'main');
		await expectTopLayer('the viewer decodes the top layer', 20_000);
	});

	await test.step('the publisher sends three layers: 320, 640 and 1280 wide', async () => {
		const first = await readOutboundVideo(pub.page);
		await pub.page.waitForTimeout(1000);
		const second = await readOutboundVideo(pub.page);
		const byRid = (list: typeof first, rid: string) => list.find((s) => s.rid === rid);
		for (const [rid, width] of [['r0', 320], ['r1', 640], ['r2', 1280]] as const) {
			const a = byRid(first, rid);
			const b = byRid(second, rid);
			expect(b, `outbound ${rid}`).toBeDefined();
			expect(b!.active, `${rid} active`).toBe(true);
			expect(b!.frameWidth, `${rid} width`).toBe(width);
			expect(b!.bytesSent, `${rid} keeps sending`).toBeGreaterThan(a?.bytesSent ?? 0);
		}
		figures.outbound = second.map(({ rid, frameWidth, frameHeight, framesPerSecond }) => ({ rid, frameWidth, frameHeight, framesPerSecond }));
	});

	await test.step('stats panels: the layers sent, and the layer received per remote video', async () => {
		// The publisher's panel first: the viewer's panel narrows its large tile, and dynacast
		// turns the top layer off 2 s later.
		await pub.page.getByTestId('toggle-stats').click();
		await expect(pub.page.getByTestId('stats-outbound')).toHaveCount(3);
		await expect(pub.page.locator('[data-testid="stats-outbound"][data-active="true"]')).toHaveCount(3);
		await pub.page.getByTestId('toggle-stats').click();
		await viewer.page.getByTestId('toggle-stats').click();
		const panel = viewer.page.getByTestId('stats-panel');
		await expect(panel).toBeVisible();
		await expect(panel.getByTestId('stats-inbound-video').getByTestId('stats-layer')).toHaveText(/^S[12]/, { timeout: 5000 });
		await expect(panel.getByTestId('stats-recv-kbps')).not.toHaveText('0 kbps');
		await viewer.page.getByTestId('toggle-stats').click();
		await expect(panel).toHaveCount(0);
		// The timed cycles start from the top layer received again.
		await expectTopLayer('the top layer again once the panel is closed', 15_000);
	});

	await test.step(`small ⇄ large, ${CYCLES} times: lowest layer, then the top one again`, async () => {
		const skipped: string[] = [];
		for (let i = 0; i < CYCLES; i++) {
			// Pinning their own tile puts the publisher in the strip (a small tile).
			const d = await timeWidthChange(viewer.page, pubTile, { max: 320 }, { click: pinSelf });
			await expect(remoteTile(viewer.page, 'Pub')).toHaveAttribute('data-slot', 'strip');
			expect(d.ms, `switch down #${i + 1} (to ${d.width})`).not.toBeNull();
			await viewer.page.waitForTimeout(300);
			// Quick enough that dynacast has not turned the top layer off (it waits 2 s).
			const u = await timeWidthChange(viewer.page, pubTile, { min: await topWidth() }, { click: pinSelf });
			if (u.ms === null && skipped.length < 2 && !(await sendingTop())) {
				// The publisher is not sending its top layer at the end of the wait (its own send
				// estimate fell, as on a starved machine: "limited by bandwidth", or it judged its
				// uplink lossy): there was no layer to switch to, which is not what this step times.
				// Said, and the cycle done again once the top layer is back.
				const r2 = await outbound('r2');
				skipped.push(`#${i + 1}: r2 ${r2?.active ? `limited by ${r2.qualityLimitationReason}` : 'off'}`);
				console.log(`  switch up #${i + 1}: the publisher sends no top layer (${skipped.at(-1)}; marks ${(await uplinkMarks()).join(' ')}); cycle done again`);
				await expectTopLayer(`the top layer once the publisher sends it again (cycle #${i + 1})`, 30_000);
				i--;
				continue;
			}
			if (u.ms === null) await expectTopLayer(`switch up #${i + 1} (to ${u.width})`, 1000);
			expect(u.ms, `switch up #${i + 1} (to ${u.width})`).not.toBeNull();
			down.push(d.ms!);
			up.push(u.ms!);
			await viewer.page.waitForTimeout(300);
		}
		figures.cyclesDoneAgain = skipped;
		console.log(`  layer switch ms: down ${down.join(', ')}; up ${up.join(', ')}`);
		for (const ms of [...down, ...up]) expect(ms).toBeLessThanOrEqual(SWITCH_FLOOR_MS);
		expect(percentile([...down, ...up], 50), 'median layer switch').toBeLessThanOrEqual(SWITCH_MEDIAN_FLOOR_MS);
	});

	await test.step('a window resize switches layers too', async () => {
		// Headless Chromium takes a while to lay the page out again after a resize, so the
		// time is also given from the viewport report the client sends (its User Timing mark).
		const resize = async (width: number, height: number, accept: { min?: number; max?: number }) => {
			const t0 = await viewer.page.evaluate(() => (globalThis as unknown as { performance: { now(): number } }).performance.now());
			const timing = timeWidthChange(viewer.page, pubTile, accept);
			await viewer.page.setViewportSize({ width, height });
			const result = await timing;
			const reportedAt = await viewer.page.evaluate(
				(since) =>
					(
						globalThis as unknown as { performance: { getEntriesByName(n: string): { startTime: number }[] } }
					).performance
						.getEntriesByName('parley:viewports-sent')
						.map((m) => m.startTime)
						.find((t) => t >= since) ?? null,
				t0,
			);
			const fromReport = result.ms !== null && reportedAt !== null ? Math.round(t0 + result.ms - reportedAt) : null;
			return { total: result.ms, fromReport, width: result.width };
		};
		const d = await resize(640, 400, { max: 640 });
		const u = await resize(1280, 720, { min: await topWidth() });
		console.log(
			`  resize switch ms (total / from the viewport report): down ${d.total} / ${d.fromReport} (to ${d.width}), up ${u.total} / ${u.fromReport} (to ${u.width})`,
		);
		for (const r of [d, u]) {
			expect(r.total).not.toBeNull();
			expect(r.fromReport).not.toBeNull();
			expect(r.fromReport!).toBeLessThanOrEqual(SWITCH_FLOOR_MS);
		}
		figures.resizeSwitchMs = { down: d, up: u };
	});

	let reactivateMs: number | null = null;
	await test.step('dynacast: with only a small tile watching, the publisher stops encoding the upper layers', async () => {
		const t0 = Date.now();
		const d = await timeWidthChange(viewer.page, pubTile, { max: 320 }, { click: pinSelf });
		expect(d.ms).not.toBeNull();
		await expect
			.poll(async () => [(await outbound('r1'))?.active, (await outbound('r2'))?.active], {
				message: 'r1 and r2 switched off on the publisher',
				timeout: 8000,
			})
			.toEqual([false, false]);
		figures.dynacastOffAfterMs = Date.now() - t0;
		// Stopped for real: no bytes on r2 for a second, while r0 goes on.
		const [r0a, r2a] = [await outbound('r0'), await outbound('r2')];
		await pub.page.waitForTimeout(1000);
		const [r0b, r2b] = [await outbound('r0'), await outbound('r2')];
		expect(r2b!.bytesSent, 'r2 sends nothing').toBe(r2a!.bytesSent);
		expect(r0b!.bytesSent, 'r0 goes on').toBeGreaterThan(r0a!.bytesSent);

		const u = await timeWidthChange(viewer.page, pubTile, { min: await topWidth() }, { click: pinSelf, timeoutMs: REACTIVATE_FLOOR_MS });
		reactivateMs = u.ms;
		console.log(`  top layer back after dynacast had stopped it: ${u.ms} ms`);
		if (u.ms === null) await expectTopLayer('the top layer back after dynacast had stopped it', 1000);
		expect(u.ms, 'the top layer comes back').not.toBeNull();
		expect((await outbound('r2'))?.active).toBe(true);
	});

	let resumeMs: number | null = null;
	let topLayerAfterShownMs: number | null = null;
	await test.step('a hidden tile pauses its consumer; nobody watching stops the encoder', async () => {
		await viewer.page.locator(`${pubTile} [data-testid="hide-video"]`).click();
		await expect(remoteTile(viewer.page, 'Pub')).toHaveAttribute('data-video-hidden', 'true');
		await viewer.page.waitForTimeout(700);
		const a = await inboundFor(viewer.page, trackId!);
		await viewer.page.waitForTimeout(1500);
		const b = await inboundFor(viewer.page, trackId!);
		expect(b!.framesDecoded, 'no frames while hidden').toBe(a!.framesDecoded);
		await expect
			.poll(async () => (await readOutboundVideo(pub.page)).map((s) => s.active), {
				message: 'every layer off on the publisher',
				timeout: 8000,
			})
			.toEqual([false, false, false]);
		resumeMs = await timeDecodeResume(viewer.page, trackId!, {
			click: `${pubTile} [data-testid="hide-video"]`,
			timeoutMs: REACTIVATE_FLOOR_MS,
		});
		console.log(`  video back after showing the tile again: ${resumeMs} ms`);
		expect(resumeMs, 'frames again once shown').not.toBeNull();
		// Up to 30 s (10 s until a CI run on a starved machine failed twice): the publisher's
		// encoder restarts from nothing, and with the 2 cores saturated its send estimate can hold
		// the top layer back for a while (it encoded r2 but sent none of its frames); on an idle
		// machine it is back within about a second (topLayerAfterShownMs in the report).
		const t0 = Date.now();
		await expectTopLayer('the top layer once shown again', 30_000);
		topLayerAfterShownMs = Date.now() - t0;
		console.log(`  top layer ${topLayerAfterShownMs} ms after the first frame once shown again`);
	});

	const report = {
		...figures,
		switchMs: {
			down,
			up,
			p50: percentile([...down, ...up], 50),
			max: Math.max(...down, ...up),
		},
		reactivateAfterDynacastMs: reactivateMs,
		resumeAfterHiddenMs: resumeMs,
		topLayerAfterShownMs,
		publisherMarks: await uplinkMarks(),
		dynacastMeasures: await pub.page.evaluate(() =>
			(
				globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string; duration: number }[] } }
			).performance
				.getEntriesByType('measure')
				.filter((m) => m.name.startsWith('parley:dynacast'))
				.map((m) => ({ name: m.name.slice('parley:'.length), ms: Math.round(m.duration) })),
		),
	};
	mkdirSync(fileURLToPath(new URL('./.artifacts', import.meta.url)), { recursive: true });
	writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
	console.log(`  ${JSON.stringify(report)}`);
	expect([...pub.pageErrors, ...viewer.pageErrors]).toEqual([]);
});
