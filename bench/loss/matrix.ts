/**
 * The loss matrix: audio and video at 0/10/30% loss (+50 ms each way) on one participant,
 * both directions, for several settings ("variants"), each run several times. Every run is
 * the real E2E loss spec (e2e/loss.spec.ts: real client, real server, a lossy UDP relay in
 * front of one participant), started with the variant's client tuning (E2E_TUNING) and
 * server settings (E2E_SERVER_ENV); each run holds the machine-wide E2E lock on its own.
 *
 *   node bench/loss/matrix.ts [--variants=baseline,floors] [--runs=2] [--levels=0,10,30]
 *        [--window=8000] [--out=bench/results/loss.json]
 *
 * Prints, per variant and level, the range (min–max over the runs) of: video fps, share of
 * the time frozen, audio concealed — from the lossy participant and to it — and writes all
 * figures (with the hop-by-hop stats of each run) as JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Variant {
	/** Client tuning (client/src/media/tuning.ts), JSON. */
	tuning?: Record<string, unknown>;
	/** Server settings (PARLEY_* variables). */
	server?: Record<string, string>;
	note: string;
}

/** The settings compared. "shipped" is the defaults of this commit. */
const VARIANTS: Record<string, Variant> = {
	shipped: { note: 'the defaults as shipped (SFU floor 300 kbps; lowest layer at 30 fps while the camera\'s uplink is heavily lossy)' },
	'no-lossy-fps': { note: 'shipped, but the lowest layer stays at 15 fps under heavy uplink loss', tuning: { lossyLowLayerFps: 0 } },
	before: {
		note: 'before issue 12: no bitrate floors',
		server: { PARLEY_MEDIA_MIN_OUTGOING_BITRATE: '0', PARLEY_MEDIA_VIDEO_MIN_BITRATE_KBPS: '0' },
	},
	'sfu-floor': { note: 'SFU send estimate floor 600 kbps', server: { PARLEY_MEDIA_MIN_OUTGOING_BITRATE: '600000', PARLEY_MEDIA_VIDEO_MIN_BITRATE_KBPS: '0' } },
	'sfu-floor-300': { note: 'SFU send estimate floor 300 kbps', server: { PARLEY_MEDIA_MIN_OUTGOING_BITRATE: '300000', PARLEY_MEDIA_VIDEO_MIN_BITRATE_KBPS: '0' } },
	'sender-floor': { note: 'publisher send estimate floor 600 kbps', server: { PARLEY_MEDIA_MIN_OUTGOING_BITRATE: '0', PARLEY_MEDIA_VIDEO_MIN_BITRATE_KBPS: '600' } },
	'both-floors': { note: 'both floors', server: { PARLEY_MEDIA_MIN_OUTGOING_BITRATE: '600000', PARLEY_MEDIA_VIDEO_MIN_BITRATE_KBPS: '600' } },
	'no-jitter-buffer': { note: 'shipped, without the loss-adaptive jitter buffer', tuning: { jitterBuffer: false } },
	'low-layer-30fps': { note: 'shipped, lowest layer at 30 fps', tuning: { lowLayerFps: 30 } },
	guard: { note: 'shipped, with the uplink guard (UplinkGuard.ts: a lossy camera held to its lowest layer, 30 fps under heavy loss)', tuning: { uplinkGuard: true } },
	'two-round-trips': { note: 'before: receivers buffer for 2 repair round trips whatever the loss (shipped: 3 under heavy loss)', tuning: { heavyLossRoundTrips: 2 } },
	'opus-lean': { note: 'shipped, Opus in 60 ms packets at 20 kbps (less audio overhead in a lossy sender\'s ~100 kbps)', tuning: { opusPtime: 60, opusMaxAverageBitrate: 20000 } },
	'guard-15fps': { note: 'the uplink guard, layer 0 kept at 15 fps under heavy loss too', tuning: { uplinkGuard: true, heldLayerFps: 15 } },
};

function arg(name: string, fallback: string): string {
	const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
	return hit ? hit.slice(name.length + 3) : fallback;
}

type Figures = { fps: number | null; frozen: number | null; concealed: number | null };
type Run = Record<string, { measuredLossPercent: number; fromLossy: Figures; toLossy: Figures; raw: unknown }>;

function figures(direction: { audio: { concealedRatio: number | null } | null; video: { fps: number; frozenRatio: number } | null }): Figures {
	return { fps: direction.video?.fps ?? null, frozen: direction.video?.frozenRatio ?? null, concealed: direction.audio?.concealedRatio ?? null };
}

function runOnce(name: string, variant: Variant, levels: string, windowMs: string): Run | { error: string } {
	const tag = `bench-${name}`;
	const file = path.join(ROOT, 'e2e', '.artifacts', `loss-${tag}.json`);
	rmSync(file, { force: true });
	const env = {
		...process.env,
		LOSS_TAG: tag,
		LOSS_LEVELS: levels,
		LOSS_WINDOW_MS: windowMs,
		E2E_TUNING: variant.tuning ? JSON.stringify(variant.tuning) : '',
		E2E_SERVER_ENV: JSON.stringify(variant.server ?? {}),
	};
	const t0 = Date.now();
	const result = spawnSync(
		'flock',
		['/tmp/parley-e2e.lock', process.execPath, 'node_modules/@playwright/test/cli.js', 'test', '--config', 'e2e/playwright.config.ts', 'e2e/loss.spec.ts'],
		{ cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
	);
	console.log(`  ${name}: run took ${Math.round((Date.now() - t0) / 1000)} s (exit ${result.status})`);
	if (!existsSync(file)) return { error: `no result (exit ${result.status}): ${(result.stdout ?? '').slice(-1500)}` };
	const json = JSON.parse(readFileSync(file, 'utf8')) as { results: Record<string, Parameters<typeof figures>[0] & { measuredLossPercent: number; fromLossy: never; toLossy: never }> };
	const run: Run = {};
	for (const [level, entry] of Object.entries(json.results)) {
		const e = entry as unknown as { measuredLossPercent: number; fromLossy: Parameters<typeof figures>[0]; toLossy: Parameters<typeof figures>[0] };
		run[level] = { measuredLossPercent: e.measuredLossPercent, fromLossy: figures(e.fromLossy), toLossy: figures(e.toLossy), raw: entry };
	}
	return run;
}

function range(values: (number | null)[], scale = 1, digits = 0): string {
	const v = values.filter((x): x is number => x !== null).map((x) => x * scale);
	if (v.length === 0) return '–';
	const f = (x: number): string => x.toFixed(digits);
	const lo = Math.min(...v);
	const hi = Math.max(...v);
	return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
}

function main(): void {
	const names = arg('variants', 'before,shipped').split(',');
	const runs = Number(arg('runs', '2'));
	const levels = arg('levels', '0,10,30');
	const windowMs = arg('window', '8000');
	const out = path.resolve(ROOT, arg('out', 'bench/results/loss.json'));
	for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown variant ${n} (known: ${Object.keys(VARIANTS).join(', ')})`);
	const results: Record<string, { variant: Variant; runs: (Run | { error: string })[] }> = {};
	// Interleaved (A B A B), so that the machine's load drifts over all variants alike.
	for (let i = 0; i < runs; i++) {
		for (const name of names) {
			(results[name] ??= { variant: VARIANTS[name]!, runs: [] }).runs.push(runOnce(name, VARIANTS[name]!, levels, windowMs));
		}
	}
	const lines = [
		'variant           loss  measured | from lossy: fps   frozen %  concealed % | to lossy: fps   frozen %  concealed %',
		'----------------  ----  -------- | ---------------  --------  ----------- | -------------  --------  -----------',
	];
	for (const [name, { runs: rs }] of Object.entries(results)) {
		const ok = rs.filter((r): r is Run => !('error' in r));
		for (const level of levels.split(',').map((l) => `${l}%`)) {
			const at = ok.map((r) => r[level]).filter((x) => x !== undefined);
			lines.push(
				[
					name.padEnd(16),
					level.padStart(4),
					range(at.map((x) => x.measuredLossPercent), 1, 1).padStart(8),
					'|',
					range(at.map((x) => x.fromLossy.fps), 1, 1).padStart(15),
					range(at.map((x) => x.fromLossy.frozen), 100).padStart(8),
					range(at.map((x) => x.fromLossy.concealed), 100, 1).padStart(11),
					'|',
					range(at.map((x) => x.toLossy.fps), 1, 1).padStart(13),
					range(at.map((x) => x.toLossy.frozen), 100).padStart(8),
					range(at.map((x) => x.toLossy.concealed), 100, 1).padStart(11),
				].join('  '),
			);
		}
		if (ok.length < rs.length) lines.push(`${name}: ${rs.length - ok.length} run(s) failed`);
	}
	console.log(lines.join('\n'));
	mkdirSync(path.dirname(out), { recursive: true });
	writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), levels, windowMs: Number(windowMs), table: lines, results }, null, 2)}\n`);
	console.log(`wrote ${path.relative(ROOT, out)}`);
}

main();
