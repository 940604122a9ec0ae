/**
 * Audio/video drift of a recording made from real Chromium participants.
 *
 *   flock /tmp/parley-e2e.lock node bench/recording/browser-drift.ts [--participants=1,2] [--seconds=12]
 *        [--warmup=6] [--hum=0] [--size=1280x720] [--http-port=4375] [--media-port=30375] [--keep] [--out=FILE]
 *
 * Starts the real server (`node signaling/main.ts`, dev mode, one mediasoup worker on
 * loopback, its own data folder in a temp directory) and Debian's Chromium. Per run, N fresh
 * participants join one room through the real lobby UI; each page's getUserMedia is replaced
 * by an init script (browserMarkers.ts): a canvas.captureStream(30) camera that flashes white
 * (200 ms) and a WebAudio microphone that beeps (1 kHz, 100 ms) at the same moments every 2 s, both
 * from the page's audio clock, participants' markers staggered. The host (the first to arrive,
 * dev mode) starts recording with the call page's Record button, waits `--seconds`, stops
 * it; then the files are read from the server's recording folder:
 *
 * - drift = beep − flash per marker, per person, in the composed MP4 the server made (parts
 *   placed by `capturedAt`), in a second composed file made from the same parts placed at
 *   their wall-clock start (`startedAt`, how it was done before), and in the per-track files
 *   placed on one timeline both ways;
 * - the source's own skew: per flash, how far the audio clock was past the beep's start when
 *   the white frame was drawn, and the two page clocks' agreement;
 * - the audio files' timestamp gaps (Opus DTX sends nothing in silence).
 *
 * Prints a table, writes bench/results/recording-browser-drift.json (--out).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { pino } from 'pino';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts';
import { Composer, partStart, type ComposerPart } from '../../sfu/recording/Composer.ts';
import type { RecordingInfo } from '../../signaling/protocol/index.ts';
import { startParley, type ParleyServer } from '../lib/parleyServer.ts';
import { composedDrift, partsDrift, type Alignment } from '../lib/recordingDrift.ts';
import { summarize, type DriftSummary, type MarkerDrift } from '../lib/syncMarkers.ts';
import { installMarkerMedia, readMarkers, type FlashLog, type MarkerOptions, type MarkerState } from './browserMarkers.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
	options: {
		participants: { type: 'string', default: '1,2' },
		seconds: { type: 'string', default: '12' },
		warmup: { type: 'string', default: '6' },
		hum: { type: 'string', default: '0' },
		size: { type: 'string', default: '1280x720' },
		'http-port': { type: 'string', default: '4375' },
		'media-port': { type: 'string', default: '30375' },
		keep: { type: 'boolean', default: false },
		out: { type: 'string', default: 'bench/results/recording-browser-drift.json' },
	},
});
const COUNTS = values.participants.split(',').map(Number);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const HUM = Number(values.hum);
const PERIOD_MS = 2000;
const [WIDTH, HEIGHT] = values.size.split('x').map(Number) as [number, number];
// The flash lasts 200 ms: a loaded sender encodes 12-20 fps, and a 2-frame flash can be skipped. Its onset is what counts.
const MARKER: Omit<MarkerOptions, 'phaseMs'> = { periodMs: PERIOD_MS, beepMs: 100, flashMs: 200, beepGain: 0.6, hum: HUM, width: WIDTH, height: HEIGHT, fps: 30 };
const NAMES = ['Ada', 'Ben', 'Cleo', 'Dan'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => void process.stderr.write(`[browser-drift ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const round1 = (n: number): number => Math.round(n * 10) / 10;

function stats(xs: number[]): { n: number; median: number | null; min: number | null; max: number | null } {
	if (xs.length === 0) return { n: 0, median: null, min: null, max: null };
	const s = [...xs].sort((a, b) => a - b);
	const mid = s.length / 2;
	return { n: s.length, median: round1(s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2), min: round1(s[0]!), max: round1(s.at(-1)!) };
}

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | null | Promise<T | undefined | null>): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await probe();
		if (v !== undefined && v !== null) return v;
		if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
		await sleep(250);
	}
}

interface Participant {
	name: string;
	context: BrowserContext;
	page: Page;
	errors: string[];
}

async function joinParticipant(browser: Browser, url: string, room: string, name: string, phaseMs: number): Promise<Participant> {
	const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 720 }, permissions: ['camera', 'microphone'] });
	await context.addInitScript(installMarkerMedia, { ...MARKER, phaseMs });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto(`/r/${encodeURIComponent(room)}`, { timeout: 15_000 });
	await page.getByTestId('name-input').fill(name);
	await page.locator('[data-testid="preview"][data-video="on"]').waitFor({ timeout: 15_000 });
	await page.getByTestId('join-button').click({ timeout: 10_000 });
	await page.locator('[data-testid="call"][data-status="joined"]').waitFor({ timeout: 20_000 });
	return { name, context, page, errors };
}

/** The recording's folder and manifest, once it has ended. */
function manifests(recDir: string, room: string): { dir: string; info: RecordingInfo }[] {
	const base = path.join(recDir, room);
	if (!existsSync(base)) return [];
	return readdirSync(base)
		.map((id) => path.join(base, id))
		.filter((d) => existsSync(path.join(d, 'manifest.json')))
		.map((dir) => ({ dir, info: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RecordingInfo }));
}

/** Gaps in an audio file's packet timestamps (> 30 ms beyond the previous packet's end): Opus DTX. */
async function audioGaps(file: string): Promise<{ packets: number; gaps: number; gapMs: number }> {
	const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
	const rows = stdout
		.trim()
		.split('\n')
		.map((l) => l.split(',').map(Number))
		.filter((r) => Number.isFinite(r[0]));
	let gaps = 0;
	let gapMs = 0;
	for (let i = 1; i < rows.length; i++) {
		const gap = (rows[i]![0]! - rows[i - 1]![0]! - (rows[i - 1]![1] || 0.02)) * 1000;
		if (gap > 30) {
			gaps++;
			gapMs += gap;
		}
	}
	return { packets: rows.length, gaps, gapMs: Math.round(gapMs) };
}

/** Frames per second a video file holds (a flash's onset is known to one frame). */
async function videoFps(file: string): Promise<number> {
	const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
	const t = stdout.trim().split('\n').map(Number).filter(Number.isFinite);
	return t.length > 1 ? round1((t.length - 1) / (Math.max(...t) - Math.min(...t))) : 0;
}

/** The source's own skew: per flash, audio clock at the white frame's drawing − the beep's start (ms); the clocks' agreement. */
function sourceSkew(m: MarkerState): { flashAfterBeepMs: ReturnType<typeof stats>; audioVsWallPpm: number | null; outputLatencyMs: number; audioState: string } {
	const skews = m.flashes.map((f) => (f.drawnAtAudio - f.beepAt) * 1000);
	const first = m.pairs[0];
	const last = m.pairs.at(-1);
	const ppm = first && last && last.wall - first.wall > 1000 ? (((last.audio - first.audio) * 1000) / (last.wall - first.wall) - 1) * 1e6 : null;
	return { flashAfterBeepMs: stats(skews), audioVsWallPpm: ppm === null ? null : Math.round(ppm), outputLatencyMs: round1(m.outputLatency * 1000), audioState: m.audioState };
}

interface Row {
	participants: number;
	file: 'composed' | 'per-track files';
	align: Alignment;
	person: string;
	summary: DriftSummary;
	driftsMs: number[];
	/** Drift at each marker against its time in the file (s), to see whether it grows. */
	trend: [number, number][];
}

async function measure(server: ParleyServer, browser: Browser, recDir: string, n: number): Promise<{ rows: Row[]; run: Record<string, unknown> }> {
	const room = `drift-${n}-${Date.now().toString(36)}`;
	const people: Participant[] = [];
	try {
		for (let i = 0; i < n; i++) {
			people.push(await joinParticipant(browser, server.url, room, NAMES[i]!, Math.round((i * PERIOD_MS) / n)));
			log(`${n}: ${NAMES[i]} joined`);
		}
		await sleep(WARMUP * 1000);
		const host = people[0]!.page;
		await host.getByTestId('toggle-participants').click();
		await host.getByTestId('host-record').click();
		await host.getByTestId('recording-indicator').waitFor({ timeout: 10_000 });
		const recordStart = Date.now();
		log(`${n}: recording ${SECONDS} s`);
		await sleep(SECONDS * 1000);
		await host.getByTestId('host-record').click();
		await host.getByTestId('recording-indicator').waitFor({ state: 'detached', timeout: 10_000 });
		const recordStop = Date.now();
		const { dir, info } = await waitFor('recording finished', 30_000, () => manifests(recDir, room).find((m) => m.info.endedAt !== null));
		const composedAt = Date.now();
		await waitFor('composed file', 120_000, () => existsSync(path.join(dir, 'composed.mp4')) || null);
		log(`${n}: composed in ${((Date.now() - composedAt) / 1000).toFixed(1)} s: ${dir}`);
		const markers = await Promise.all(people.map((p) => p.page.evaluate(readMarkers)));
		const byPeer = new Map(info.files.map((f) => [f.peerId, f.name]));
		const parts: ComposerPart[] = info.files.map((f) => ({ ...f, track: `${f.peerId}:${f.source}` }));
		const wall = parts.map(({ capturedAt: _, ...p }) => p);
		await new Composer({ ffmpegPath: 'ffmpeg', dir, parts: wall, output: 'composed-wall-clock.mp4', log: pino({ level: 'silent' }) }).done;
		const rows: Row[] = [];
		const add = (file: Row['file'], align: Alignment, drifts: Map<string, MarkerDrift[]>): void => {
			for (const [peerId, d] of drifts)
				rows.push({
					participants: n,
					file,
					align,
					person: byPeer.get(peerId) ?? peerId,
					summary: summarize(d),
					driftsMs: d.map((x) => Math.round(x.driftMs)),
					trend: d.map((x): [number, number] => [round1(x.flash), Math.round(x.driftMs)]),
				});
		};
		add('composed', 'capture', await composedDrift(path.join(dir, 'composed.mp4'), dir, parts, 'capture'));
		add('composed', 'wall-clock', await composedDrift(path.join(dir, 'composed-wall-clock.mp4'), dir, wall, 'wall-clock'));
		const byCapture = await partsDrift(dir, parts, 'capture');
		add('per-track files', 'capture', byCapture);
		add('per-track files', 'wall-clock', await partsDrift(dir, wall, 'wall-clock'));
		const files = await Promise.all(
			info.files.map(async (f) => ({
				file: f.file,
				name: f.name,
				kind: f.kind,
				codec: f.codec,
				startedAt: f.startedAt,
				capturedAt: f.capturedAt ?? null,
				/** capturedAt − startedAt: how much earlier than its wall-clock start the first frame was captured. */
				captureMinusStartMs: f.capturedAt == null ? null : Math.round(f.capturedAt - f.startedAt),
				seconds: round1((f.endedAt - f.startedAt) / 1000),
				...(f.kind === 'audio' ? { audioGaps: await audioGaps(path.join(dir, f.file)) } : { fps: await videoFps(path.join(dir, f.file)) }),
			})),
		);
		if (values.keep) {
			const kept = mkdtempSync(path.join(os.tmpdir(), `parley-browser-drift-${n}-`));
			cpSync(dir, kept, { recursive: true });
			log(`${n}: files kept in ${kept}`);
		}
		// Which side is late: the files' capture times (server clock) against the page's own moments (the same machine's clock).
		const t0 = Math.min(...parts.map(partStart));
		const sides = [...byCapture].map(([peerId, drifts]) => {
			const name = byPeer.get(peerId) ?? peerId;
			const m = markers[people.findIndex((p) => p.name === name)];
			const per = drifts.flatMap((d) => {
				const flashAt = t0 + d.flash * 1000;
				const f = m?.flashes.reduce<FlashLog | undefined>((a, b) => (a && Math.abs(a.drawnAtWall - flashAt) < Math.abs(b.drawnAtWall - flashAt) ? a : b), undefined);
				if (!f || Math.abs(f.drawnAtWall - flashAt) > 500) return [];
				const pageSkew = (f.drawnAtAudio - f.beepAt) * 1000;
				return [{ video: flashAt - f.drawnAtWall, audio: flashAt + d.driftMs - f.wallMs, pageSkew, corrected: d.driftMs + pageSkew }];
			});
			return {
				name,
				/** Flash's capture time in the file − when the page drew it (ms): the video side's delay as the recording sees it. */
				videoCaptureMinusDrawnMs: stats(per.map((x) => x.video)),
				/** Beep's capture time in the file − its scheduled moment (ms): the audio side's. */
				audioCaptureMinusScheduledMs: stats(per.map((x) => x.audio)),
				/** The files' drift minus the page's own skew per marker: what the browser's pipelines and the recording add. */
				driftWithoutPageSkewMs: stats(per.map((x) => x.corrected)),
			};
		});
		return {
			rows,
			run: {
				sides,
				participants: n,
				room,
				recordedSeconds: round1((recordStop - recordStart) / 1000),
				files,
				source: people.map((p, i) => ({ name: p.name, phaseMs: Math.round((i * PERIOD_MS) / n), ...sourceSkew(markers[i]!), flashes: markers[i]!.flashes.length, pageErrors: p.errors })),
			},
		};
	} finally {
		await Promise.all(people.map((p) => p.context.close().catch(() => undefined)));
	}
}

async function main(): Promise<void> {
	const tmp = mkdtempSync(path.join(os.tmpdir(), 'parley-browser-drift-'));
	const recDir = path.join(tmp, 'recordings');
	const httpPort = Number(values['http-port']);
	let server: ParleyServer | undefined;
	let browser: Browser | undefined;
	try {
		server = await startParley({
			httpPort,
			mediaPort: Number(values['media-port']),
			env: {
				PARLEY_DEV: 'true',
				PARLEY_HTTP_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
				PARLEY_RECORDING_DIR: recDir,
				PARLEY_RECORDING_RTP_PORT_MIN: '25300',
				PARLEY_RECORDING_RTP_PORT_MAX: '25399',
				PARLEY_LOG_LEVEL: 'info',
			},
		});
		log(`server ${server.url} (pid ${server.pid})`);
		browser = await chromium.launch({
			executablePath: CHROMIUM_PATH,
			headless: true,
			// The pages' AudioContext runs without a click first.
			args: [...CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'],
			env: { ...process.env, TMPDIR: tmp },
			timeout: 30_000,
		});
		const rows: Row[] = [];
		const runs: Record<string, unknown>[] = [];
		for (const n of COUNTS) {
			const r = await measure(server, browser, recDir, n);
			rows.push(...r.rows);
			runs.push(r.run);
		}
		const syncLines = server
			.output()
			.split('\n')
			.filter((l) => l.includes('recorded part finished') || l.includes('sender report far'))
			.map((l) => {
				try {
					const j = JSON.parse(l) as { file?: string; sync?: string; msg?: string; skewMs?: number };
					return `${j.file ?? ''} ${j.sync ?? ''} ${j.msg ?? ''}${j.skewMs === undefined ? '' : ` ${j.skewMs}`}`.trim();
				} catch {
					return l.slice(0, 200);
				}
			});
		console.log(`\nrecording A/V drift with Chromium ${browser.version()} (beep − flash per marker, ms; ${SECONDS} s recorded)`);
		console.table(
			rows.map((r) => ({
				participants: r.participants,
				file: r.file,
				'placed by': r.align === 'capture' ? 'capture time (SR)' : 'wall-clock start',
				person: r.person,
				markers: r.summary.markers,
				'median ms': r.summary.medianMs,
				'max |drift| ms': r.summary.maxAbsMs,
			})),
		);
		for (const run of runs) {
			const source = run['source'] as ({ name: string } & ReturnType<typeof sourceSkew>)[];
			for (const s of source)
				console.log(
					`${String(run['participants'])} participant(s), ${s.name}: in the page, flash drawn ${s.flashAfterBeepMs.median} ms (median; ${s.flashAfterBeepMs.min}–${s.flashAfterBeepMs.max}) after the beep's start on the audio clock; audio clock vs wall clock ${s.audioVsWallPpm} ppm; AudioContext ${s.audioState}`,
				);
			for (const s of run['sides'] as { name: string; videoCaptureMinusDrawnMs: ReturnType<typeof stats>; audioCaptureMinusScheduledMs: ReturnType<typeof stats>; driftWithoutPageSkewMs: ReturnType<typeof stats> }[])
				console.log(
					`  ${s.name}, files by capture time: flash captured ${s.videoCaptureMinusDrawnMs.median} ms after the page drew it, beep ${s.audioCaptureMinusScheduledMs.median} ms after its moment (medians); drift without the page's own skew: median ${s.driftWithoutPageSkewMs.median}, ${s.driftWithoutPageSkewMs.min}…${s.driftWithoutPageSkewMs.max} ms`,
				);
			for (const f of run['files'] as { file: string; captureMinusStartMs: number | null; audioGaps?: { gaps: number; gapMs: number }; fps?: number }[])
				console.log(
					`  ${f.file}: capturedAt − startedAt ${f.captureMinusStartMs ?? 'n/a'} ms${f.audioGaps ? `, audio timestamp gaps ${f.audioGaps.gaps} (${f.audioGaps.gapMs} ms)` : ''}${f.fps === undefined ? '' : `, ${f.fps} fps`}`,
				);
		}
		const result = { chromium: browser.version(), seconds: SECONDS, warmupSeconds: WARMUP, marker: MARKER, runs, rows, serverSyncLog: syncLines };
		const out = path.resolve(ROOT, values.out);
		mkdirSync(path.dirname(out), { recursive: true });
		writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
		console.log(`\nwrote ${path.relative(ROOT, out)}`);
	} finally {
		await browser?.close().catch(() => undefined);
		await server?.stop();
		rmSync(tmp, { recursive: true, force: true });
	}
}

await main();
