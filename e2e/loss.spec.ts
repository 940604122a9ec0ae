/**
 * Packet loss: one participant ("Lossy") gets 50 ms of added delay and 0, 10 and 30%
 * random loss each way (its media goes through a lossy UDP relay, see lossy-proxy.ts;
 * CDP network emulation applied to WebRTC only now and then here); the other ("Clean")
 * has a clean link. For each level, after a few seconds to settle,
 * both directions are measured over a window: what Clean receives from Lossy (Lossy's
 * uplink is lossy) and what Lossy receives (its downlink is lossy).
 *
 * Asserts floors (audio keeps arriving and is mostly not concealed, video keeps decoding
 * at a usable rate, freezes bounded) and writes every figure to e2e/.artifacts/loss.json:
 * audio concealed-sample ratio, video fps, freeze count and duration, NACK and PLI counts,
 * jitter buffer delay, and hop by hop (hop-stats.ts) the sender's layers, the SFU's producer
 * and consumer counters and the receiver's frames. The goals at 30% are audio concealment
 * ≤ 8%, ≥ 15 fps and ≤ 10% of the time frozen, both directions; the floors here are looser
 * so the test holds on a loaded 2-core machine, and the figures say how close a run got
 * (bench/loss/matrix.ts repeats it per setting and prints ranges).
 *
 * LOSS_WINDOW_MS and LOSS_LEVELS (e.g. "0,30") change the window and the levels;
 * E2E_TUNING (JSON, see client/src/media/tuning.ts) runs the same with other settings.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, expectMediaFlowing, join, remoteTile, test, uniqueRoom, type Participant } from './fixtures.ts';
import { audioFigures, readInbound, readSendSummary, videoFigures, withFakeAudioFile, type InboundStream } from './media-helpers.ts';
import config from './playwright.config.ts';
import { testMediaPort, useProxyFor } from './lossy-proxy.ts';
import { hops, readOutbound, readServerMedia } from './hop-stats.ts';

test.use({ launchOptions: withFakeAudioFile(config.use?.launchOptions) });

const LEVELS = (process.env.LOSS_LEVELS ?? '0,10,30').split(',').map(Number);
const WINDOW_MS = Number(process.env.LOSS_WINDOW_MS ?? 8000);
const SETTLE_MS = 3000;
/** One-way delay added each way (RTT + 100 ms), as the issue's "50 ms" CDP latency gave. */
const LATENCY_MS = 50;
const TUNING = process.env.E2E_TUNING ?? '';
const OUT = fileURLToPath(new URL(`./.artifacts/loss${process.env.LOSS_TAG ? `-${process.env.LOSS_TAG}` : ''}.json`, import.meta.url));

/**
 * Floors per loss level: max audio concealed ratio, min video fps, max frozen ratio. At 30%
 * the video floors are low on purpose: what the lossy sender manages varies a lot from run
 * to run (its bandwidth estimate collapses to ~100-200 kbps under random loss; 2-16 fps
 * were seen); the test asserts that video keeps decoding, the figures say how well.
 */
function floors(loss: number): { concealed: number; fps: number; frozen: number } {
	if (loss >= 30) return { concealed: 0.35, fps: 2, frozen: 0.8 };
	if (loss >= 10) return { concealed: 0.2, fps: 8, frozen: 0.4 };
	return { concealed: 0.05, fps: 15, frozen: 0.2 };
}

type Sample = InboundStream[];
const first = (s: Sample, kind: 'audio' | 'video') => s.find((x) => x.kind === kind);

function figures(before: Sample, after: Sample) {
	const a0 = first(before, 'audio');
	const a1 = first(after, 'audio');
	const v0 = first(before, 'video');
	const v1 = first(after, 'video');
	return {
		audio: a0 && a1 ? audioFigures(a0, a1) : null,
		video: v0 && v1 ? videoFigures(v0, v1) : null,
	};
}

test('audio and video survive 10% and 30% loss on one participant', async ({ participant, baseURL }) => {
	test.setTimeout(60_000 + 4000 + LEVELS.length * (WINDOW_MS + SETTLE_MS + 3000));
	const room = uniqueRoom('loss');
	const lossy = await participant('Lossy');
	const clean = await participant('Clean');
	const proxy = await useProxyFor(lossy.context, testMediaPort());
	if (TUNING) {
		for (const p of [lossy, clean] as Participant[]) {
			await p.context.addInitScript((t) => {
				try {
					(globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('parley.tuning', t);
				} catch {
					// about:blank has no storage.
				}
			}, TUNING);
		}
	}
	await join(lossy.page, { room, name: 'Lossy' });
	await join(clean.page, { room, name: 'Clean' });
	await expect(remoteTile(clean.page, 'Lossy')).toHaveAttribute('data-video', 'on');
	await expect(remoteTile(lossy.page, 'Clean')).toHaveAttribute('data-video', 'on');
	await expectMediaFlowing(clean.page, 'Clean receiving Lossy');
	await expectMediaFlowing(lossy.page, 'Lossy receiving Clean');

	const results: Record<string, unknown> = {};
	const failures: string[] = [];
	for (const loss of LEVELS) {
		await test.step(`${loss}% loss + ${LATENCY_MS} ms on Lossy`, async () => {
			proxy.set({ delayMs: LATENCY_MS, lossPercent: loss });
			// The first level also lets the call finish ramping up (bandwidth estimate, layers).
			await lossy.page.waitForTimeout(loss === LEVELS[0] ? SETTLE_MS + 5000 : SETTLE_MS);
			const counted = { ...proxy.counters };
			const [l0, c0, lo0, co0, s0] = await Promise.all([
				readInbound(lossy.page),
				readInbound(clean.page),
				readOutbound(lossy.page),
				readOutbound(clean.page),
				readServerMedia(baseURL!, room),
			]);
			await lossy.page.waitForTimeout(WINDOW_MS);
			const [l1, c1, lossySends, lo1, co1, s1] = await Promise.all([
				readInbound(lossy.page),
				readInbound(clean.page),
				readSendSummary(lossy.page),
				readOutbound(lossy.page),
				readOutbound(clean.page),
				readServerMedia(baseURL!, room),
			]);
			// Hop by hop (sender → SFU producer → SFU consumer → receiver), for the JSON only.
			const hopsFromLossy = hops({ from: 'Lossy', to: 'Clean', server: [s0, s1], sender: [lo0, lo1], receiver: [c0, c1] });
			const hopsToLossy = hops({ from: 'Clean', to: 'Lossy', server: [s0, s1], sender: [co0, co1], receiver: [l0, l1] });
			const dropped = proxy.counters.dropped - counted.dropped;
			const relayed = dropped + proxy.counters.forwarded - counted.forwarded;
			const measuredLossPercent = relayed > 0 ? Math.round((1000 * dropped) / relayed) / 10 : 0;
			// The quality indicator of Lossy's tile, as Clean sees it (from the server's quality:update).
			const indicator = remoteTile(clean.page, 'Lossy').getByTestId('quality');
			if (loss >= 30) {
				await expect(indicator, 'Lossy shows as a poor or fair connection').toHaveAttribute('data-quality', /poor|fair/, { timeout: 6000 });
			}
			const shownQuality = await indicator.getAttribute('data-quality');
			const entry = { measuredLossPercent, shownQuality, fromLossy: figures(c0, c1), toLossy: figures(l0, l1), lossySends };
			results[`${loss}%`] = { ...entry, hops: { fromLossy: hopsFromLossy, toLossy: hopsToLossy } };
			console.log(`  ${loss}% loss: ${JSON.stringify(entry)}`);
			const f = floors(loss);
			for (const [direction, fig] of Object.entries({ fromLossy: entry.fromLossy, toLossy: entry.toLossy })) {
				const { audio, video } = fig;
				const check = (ok: boolean, what: string): void => {
					if (!ok) failures.push(`${loss}% ${direction}: ${what}`);
				};
				check(!!audio && audio.packetsReceived > 0, 'audio packets arrive');
				check(!!audio && audio.concealedRatio !== null && audio.concealedRatio < f.concealed, `audio concealed < ${f.concealed} (${audio?.concealedRatio})`);
				check(!!video && video.fps > f.fps, `video fps > ${f.fps} (${video?.fps})`);
				check(!!video && video.frozenRatio < f.frozen, `frozen < ${f.frozen} of the time (${video?.frozenRatio})`);
			}
		});
	}
	proxy.close();

	mkdirSync(fileURLToPath(new URL('./.artifacts', import.meta.url)), { recursive: true });
	writeFileSync(
		OUT,
		`${JSON.stringify({ latencyMs: LATENCY_MS, windowMs: WINDOW_MS, tuning: TUNING || 'default', results }, null, 2)}\n`,
	);
	expect(failures, 'floors').toEqual([]);
	expect([...lossy.pageErrors, ...clean.pageErrors]).toEqual([]);
});
