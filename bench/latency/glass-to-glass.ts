/**
 * Glass-to-glass video latency through the Parley SFU, with the real client and server.
 *
 *   node bench/latency/glass-to-glass.ts [--seconds=10] [--warmup=3] [--quiet-wait=45]
 *        [--conditions=none,loss-receiver,loss-sender] [--code-height=720] [--tuning=JSON]
 *        [--allow-tcp] [--out=bench/results/latency.json]
 *   (more conditions: none-mic-off, loss-receiver-mic-off, delay-receiver, delay-sender;
 *   see README.md)
 *
 * Starts `node signaling/main.ts` (dev mode, one mediasoup worker on loopback) and Debian's
 * Chromium. Per condition, two fresh participants join one room through the real lobby UI:
 * the sender's camera is replaced (test-side init script, the app is unchanged) by
 * canvas.captureStream(30) of a canvas that shows the sender's clock as a block code; the
 * receiver decodes the code of every frame its remote tile presents (requestVideoFrameCallback
 * + drawImage + getImageData) and takes now − code. Both pages are in one browser on one
 * machine: timeOrigin + now() is one clock (the offset between the pages is measured and
 * reported). Loss: CDP Network.emulateNetworkConditions (latency 50 ms, packetLoss 30%) on
 * one page, set before it opens, which gives ~25-30% loss both ways on that page and
 * RTT ≈ 100 ms; that page is offered UDP candidates only (the emulation does not reach TCP),
 * and each lossy condition reports whether the emulation held (UDP, RTT ≥ 75 ms).
 *
 * Prints a table (n, min, p50, p95, max per condition) and writes JSON (with the raw samples
 * and WebRTC stats deltas of the measuring window) to bench/results/latency.json.
 * G2G_SERVER_LOG=FILE: the server logs at debug level (ICE and DTLS states, layers) into FILE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts';
import {
	clockOffset,
	installCanvasCamera,
	installDecoder,
	parleyMarks,
	readReceiver,
	readSender,
	recordPeerConnections,
	setCollecting,
	setTuning,
	udpOnly,
	videoStats,
	type CodeLayout,
	type ReceiverState,
	type Sample,
	type StatsEntry,
} from './page.ts';
import { randomMediaPort } from '../../test/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUDGET_MS = 175_000;

interface Emulation {
	offline: false;
	latency: number;
	downloadThroughput: number;
	uploadThroughput: number;
	packetLoss: number;
}

interface Condition {
	id: string;
	label: string;
	/** Which page gets the network emulation. */
	on: 'none' | 'receiver' | 'sender';
	emulation: Emulation | null;
	/** The sender joins with the microphone off (no audio to lip-sync the video with). */
	micOff?: boolean;
}

const LOSS: Emulation = { offline: false, latency: 50, downloadThroughput: -1, uploadThroughput: -1, packetLoss: 30 };
const CONDITIONS: Condition[] = [
	{ id: 'none', label: 'no added loss (loopback)', on: 'none', emulation: null },
	{ id: 'loss-receiver', label: '100 ms RTT + 30% loss, receiver', on: 'receiver', emulation: LOSS },
	{ id: 'loss-sender', label: '100 ms RTT + 30% loss, sender', on: 'sender', emulation: LOSS },
	// Not run by default: the same without the sender's audio, to show what lip sync costs.
	{ id: 'none-mic-off', label: 'no added loss, sender mic off', on: 'none', emulation: null, micOff: true },
	{ id: 'loss-receiver-mic-off', label: '30% loss receiver, sender mic off', on: 'receiver', emulation: LOSS, micOff: true },
	// Not run by default: the emulated delay alone, to see which direction it applies to.
	{ id: 'delay-receiver', label: '50 ms emulated latency, receiver', on: 'receiver', emulation: { ...LOSS, packetLoss: 0 } },
	{ id: 'delay-sender', label: '50 ms emulated latency, sender', on: 'sender', emulation: { ...LOSS, packetLoss: 0 } },
];
const DEFAULT_CONDITIONS = 'none,loss-receiver,loss-sender';

// ---- Arguments -----------------------------------------------------------------------

function arg(name: string, fallback: string): string {
	const prefix = `--${name}=`;
	const found = process.argv.slice(2).find((a) => a.startsWith(prefix));
	return found ? found.slice(prefix.length) : fallback;
}

const SECONDS = Number(arg('seconds', '10'));
const WARMUP = Number(arg('warmup', '3'));
const QUIET_WAIT = Number(arg('quiet-wait', '45'));
const OUT = path.resolve(ROOT, arg('out', 'bench/results/latency.json'));
/** Pixels of the 720 canvas rows that carry the code (720: all of it; less: the rest is static grey). */
const CODE_HEIGHT = Number(arg('code-height', '720'));
if (!(CODE_HEIGHT >= 96 && CODE_HEIGHT <= 720)) throw new Error('--code-height must be 96..720');
const LAYOUT: CodeLayout = { cols: 8, rows: 6, width: 1280, height: 720, codeHeight: CODE_HEIGHT, fps: 30 };
/**
 * The client's experiment switches (client/src/media/tuning.ts reads localStorage['parley.tuning']),
 * e.g. --tuning='{"jitterBuffer":false}'; set on both pages. Empty: what Parley ships.
 */
const TUNING = arg('tuning', '');
if (TUNING) JSON.parse(TUNING);
/** Let the emulated page use the server's TCP candidates too (CDP emulation does not reach TCP). */
const ALLOW_TCP = process.argv.includes('--allow-tcp');
const SELECTED = arg('conditions', DEFAULT_CONDITIONS).split(',');
for (const id of SELECTED) if (!CONDITIONS.some((c) => c.id === id)) throw new Error(`unknown condition ${id}`);

// ---- Cleanup -------------------------------------------------------------------------

const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
	cleaning ??= (async () => {
		for (const fn of cleanups.reverse()) {
			try {
				await fn();
			} catch (error) {
				console.error('cleanup:', error instanceof Error ? error.message : error);
			}
		}
	})();
	return cleaning;
}

let failing = false;

/** Report, clean up, exit. Errors that follow a first failure (pages closing under it) are not reported again. */
async function fail(message: string, code: number): Promise<never> {
	if (failing) return new Promise<never>(() => {});
	failing = true;
	console.error(message);
	await cleanup();
	process.exit(code);
}

process.on('SIGINT', () => void fail('interrupted', 130));
process.on('SIGTERM', () => void fail('terminated', 143));
process.on('SIGHUP', () => void fail('hung up', 129));
process.on('uncaughtException', (error) => void fail(`uncaught: ${error.stack ?? error.message}`, 1));
process.on('unhandledRejection', (error) => void fail(`unhandled rejection: ${String(error)}`, 1));

// ---- Small helpers -------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function log(message: string): void {
	process.stderr.write(`[g2g ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank]!;
}

function round(value: number, digits = 1): number {
	const f = 10 ** digits;
	return Number.isFinite(value) ? Math.round(value * f) / f : NaN;
}

function loadavg(): [number, number, number] {
	const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
	return [a ?? NaN, b ?? NaN, c ?? NaN];
}

function machineJiffies(): { total: number; idle: number } {
	const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
	return { total: values.reduce((a, b) => a + b, 0), idle: (values[3] ?? 0) + (values[4] ?? 0) };
}

/** Fraction of the machine's CPU time that was busy between two readings. */
function busy(a: { total: number; idle: number }, b: { total: number; idle: number }): number {
	const total = b.total - a.total;
	return total > 0 ? 1 - (b.idle - a.idle) / total : NaN;
}

/** pid → [ppid, cpu seconds] for every process. */
function processTable(): Map<number, { ppid: number; cpu: number; comm: string }> {
	const table = new Map<number, { ppid: number; cpu: number; comm: string }>();
	for (const name of readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const text = readFileSync(`/proc/${name}/stat`, 'utf8');
			const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
			const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
			table.set(Number(name), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100, comm });
		} catch {
			// exited meanwhile
		}
	}
	return table;
}

function descendants(table: Map<number, { ppid: number }>, root: number): number[] {
	const out: number[] = [];
	const queue = [root];
	while (queue.length) {
		const pid = queue.shift()!;
		for (const [child, info] of table) if (info.ppid === pid) {
			out.push(child);
			queue.push(child);
		}
	}
	return out;
}

/** CPU seconds used so far by the server (with its workers) and by the browser processes. */
function cpuUse(serverPid: number): { server: number; browser: number } {
	const table = processTable();
	const serverTree = new Set([serverPid, ...descendants(table, serverPid)]);
	let server = 0;
	let browser = 0;
	for (const pid of descendants(table, process.pid)) {
		const info = table.get(pid)!;
		if (serverTree.has(pid)) server += info.cpu;
		else if (/chrom/i.test(info.comm)) browser += info.cpu;
	}
	return { server, browser };
}

function freeTcpPort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const port = (server.address() as net.AddressInfo).port;
			server.close(() => resolve(port));
		});
	});
}

function portFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const tcp = net.createServer();
		tcp.once('error', () => resolve(false));
		tcp.listen(port, '127.0.0.1', () => {
			const udp = dgram.createSocket('udp4');
			udp.once('error', () => tcp.close(() => resolve(false)));
			udp.bind(port, '127.0.0.1', () => udp.close(() => tcp.close(() => resolve(true))));
		});
	});
}

/** A port free for both UDP and TCP (the worker's WebRtcServer listens on both). */
async function freeMediaPort(): Promise<number> {
	for (let i = 0; i < 50; i++) {
		const port = randomMediaPort();
		if (await portFree(port)) return port;
	}
	throw new Error('no free media port');
}

// ---- Server --------------------------------------------------------------------------

async function ensureClientBuilt(): Promise<string> {
	const index = path.join(ROOT, 'client', 'dist', 'index.html');
	if (!existsSync(index)) {
		log('client/dist missing: building the client');
		const child = spawn(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'client/vite.config.ts', '--logLevel', 'warn'], {
			cwd: ROOT,
			stdio: ['ignore', 'inherit', 'inherit'],
		});
		cleanups.push(() => {
			if (child.exitCode === null) child.kill('SIGKILL');
		});
		const code = await withTimeout('client build', 120_000, new Promise<number | null>((resolve) => child.once('exit', resolve)));
		if (code !== 0) throw new Error(`client build failed (${code})`);
	}
	const script = /src="\/?assets\/([^"]+\.js)"/.exec(readFileSync(index, 'utf8'))?.[1] ?? '?';
	return `${statSync(index).mtime.toISOString()} (${script})`;
}

interface Server {
	url: string;
	pid: number;
	mediaPort: number;
}

async function startServer(dataDir: string): Promise<Server> {
	const httpPort = await freeTcpPort();
	const mediaPort = await freeMediaPort();
	const url = `http://127.0.0.1:${httpPort}`;
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARLEY_') && v !== undefined) env[k] = v;
	Object.assign(env, {
		PARLEY_DEV: 'true',
		PARLEY_HTTP_HOST: '127.0.0.1',
		PARLEY_HTTP_PORT: String(httpPort),
		PARLEY_HTTP_PUBLIC_URL: url,
		PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
		PARLEY_MEDIA_BASE_PORT: String(mediaPort),
		PARLEY_MEDIA_WORKERS: '1',
		PARLEY_LOG_LEVEL: process.env.G2G_SERVER_LOG ? 'debug' : 'warn',
		PARLEY_DATA_DIR: dataDir,
	});
	const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'signaling', 'main.ts')], {
		cwd: ROOT,
		env,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	const keep = (d: Buffer): void => {
		if (process.env.G2G_SERVER_LOG) appendFileSync(process.env.G2G_SERVER_LOG, d);
		output = (output + d.toString()).slice(-8000);
	};
	child.stdout?.on('data', keep);
	child.stderr?.on('data', keep);
	const pid = child.pid!;
	let workerPids: number[] = [];
	cleanups.push(async () => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
			await exited;
			clearTimeout(timer);
		}
		// Workers normally exit with the server; make sure (by PID) that none is left behind.
		for (const w of workerPids) {
			try {
				process.kill(w, 0);
				process.kill(w, 'SIGKILL');
			} catch {
				// already gone
			}
		}
		if (output.trim() && process.env.G2G_VERBOSE) log(`server output:\n${output}`);
	});
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${output}`);
		try {
			const res = await fetch(`${url}/healthz`);
			if (res.ok) {
				const table = processTable();
				workerPids = descendants(table, pid).filter((p) => table.get(p)?.comm.startsWith('mediasoup'));
				return { url, pid, mediaPort };
			}
		} catch {
			// not listening yet
		}
		await sleep(200);
	}
	throw new Error(`the server did not answer /healthz within 30 s: ${output}`);
}

// ---- One condition -------------------------------------------------------------------

async function newParticipant(
	browser: Browser,
	base: string,
	sender: boolean,
	emulated: boolean,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
	const context = await browser.newContext({
		baseURL: base,
		viewport: { width: 1280, height: 720 },
		permissions: ['camera', 'microphone'],
	});
	await context.addInitScript(recordPeerConnections);
	if (sender) await context.addInitScript(installCanvasCamera, LAYOUT);
	if (TUNING) await context.addInitScript(setTuning, TUNING);
	if (emulated && !ALLOW_TCP) await context.addInitScript(udpOnly);
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(error.message));
	return { context, page, errors };
}

async function joinCall(page: Page, room: string, name: string, micOff = false): Promise<void> {
	await page.goto(`/r/${encodeURIComponent(room)}`, { timeout: 15_000 });
	await page.getByTestId('name-input').fill(name);
	await page.locator('[data-testid="preview"][data-video="on"]').waitFor({ timeout: 10_000 });
	if (micOff) await page.getByTestId('preview-toggle-mic').click({ timeout: 10_000 });
	await page.getByTestId('join-button').click({ timeout: 10_000 });
	await page.locator('[data-testid="call"][data-status="joined"]').waitFor({ timeout: 15_000 });
	if (micOff) await page.locator('[data-testid="toggle-mic"][data-state="off"]').waitFor({ timeout: 5_000 });
}

const REMOTE_VIDEO = '[data-testid="tile"][data-local="false"][data-video="on"] video';
const LOCAL_VIDEO = '[data-testid="tile"][data-local="true"] video';

interface LatencySummary {
	n: number;
	min: number;
	p50: number;
	p95: number;
	max: number;
	mean: number;
}

function summarize(values: readonly number[]): LatencySummary {
	const finite = values.filter(Number.isFinite);
	return {
		n: finite.length,
		min: round(Math.min(...finite)),
		p50: round(percentile(finite, 50)),
		p95: round(percentile(finite, 95)),
		max: round(Math.max(...finite)),
		mean: round(finite.reduce((a, b) => a + b, 0) / (finite.length || 1)),
	};
}

function num(entry: StatsEntry | undefined, key: string): number {
	const v = entry?.[key];
	return typeof v === 'number' ? v : NaN;
}

function delta(a: StatsEntry | undefined, b: StatsEntry | undefined, key: string): number {
	return num(b, key) - (a ? num(a, key) : 0);
}

/** Per-interval jitter buffer delays (ms) of the busiest inbound video and audio stream. */
function jitterSeries(snapshots: StatsEntry[][]): Record<string, number[]> {
	const out: Record<string, number[]> = { video: [], videoTarget: [], videoMinimum: [], audio: [], audioTarget: [] };
	const pick = (list: StatsEntry[], kind: string): StatsEntry | undefined =>
		list
			.filter((e) => e['type'] === 'inbound-rtp' && e['kind'] === kind)
			.sort((a, b) => num(b, 'jitterBufferEmittedCount') - num(a, 'jitterBufferEmittedCount'))[0];
	for (let i = 1; i < snapshots.length; i++) {
		for (const kind of ['video', 'audio']) {
			const a = pick(snapshots[i - 1]!, kind);
			const b = pick(snapshots[i]!, kind);
			const emitted = delta(a, b, 'jitterBufferEmittedCount');
			out[kind]!.push(round((delta(a, b, 'jitterBufferDelay') / emitted) * 1000));
			out[`${kind}Target`]!.push(round((delta(a, b, 'jitterBufferTargetDelay') / emitted) * 1000));
			if (kind === 'video') out['videoMinimum']!.push(round((delta(a, b, 'jitterBufferMinimumDelay') / emitted) * 1000));
		}
	}
	return out;
}

/** The receiver's inbound audio (the sender's microphone): its jitter buffer sets the lip-sync target for video. */
function audioDeltas(prev: Map<string, StatsEntry>, now: StatsEntry[]): Record<string, unknown> | null {
	const audio = now
		.filter((e) => e['type'] === 'inbound-rtp' && e['kind'] === 'audio')
		.map((e) => ({ e, prev: prev.get(`${String(e['pc'])}/${String(e['id'])}`) }))
		.sort((x, y) => delta(y.prev, y.e, 'packetsReceived') - delta(x.prev, x.e, 'packetsReceived'))[0];
	if (!audio) return null;
	const { e, prev: p } = audio;
	const emitted = delta(p, e, 'jitterBufferEmittedCount');
	const samples = delta(p, e, 'totalSamplesReceived');
	return {
		packetsReceived: delta(p, e, 'packetsReceived'),
		jitterBufferMs: round((delta(p, e, 'jitterBufferDelay') / emitted) * 1000),
		jitterBufferTargetMs: round((delta(p, e, 'jitterBufferTargetDelay') / emitted) * 1000),
		concealedRatio: round(delta(p, e, 'concealedSamples') / samples, 3),
	};
}

/** What the WebRTC stats say about the measuring window (deltas between two snapshots). */
function statsDeltas(seconds: number, rx0: StatsEntry[], rx1: StatsEntry[], tx0: StatsEntry[], tx1: StatsEntry[]): Record<string, unknown> {
	const byId = (list: StatsEntry[]): Map<string, StatsEntry> => new Map(list.map((e) => [`${String(e['pc'])}/${String(e['id'])}`, e]));
	const rxPrev = byId(rx0);
	const txPrev = byId(tx0);
	// The receiver's inbound video with the most frames decoded in the window (the sender's camera).
	const inbound = rx1
		.filter((e) => e['type'] === 'inbound-rtp' && e['kind'] === 'video')
		.map((e) => ({ e, prev: rxPrev.get(`${String(e['pc'])}/${String(e['id'])}`) }))
		.sort((x, y) => delta(y.prev, y.e, 'framesDecoded') - delta(x.prev, x.e, 'framesDecoded'))[0];
	let receiver: Record<string, unknown> = {
		missing: 'no inbound video stream in the receiver stats',
		seen: rx1.map((e) => `${String(e['pc'])}:${String(e['type'])}:${String(e['kind'] ?? '')}`),
	};
	if (inbound) {
		const { e, prev } = inbound;
		const frames = delta(prev, e, 'framesDecoded');
		const emitted = delta(prev, e, 'jitterBufferEmittedCount');
		const lost = delta(prev, e, 'packetsLost');
		const received = delta(prev, e, 'packetsReceived');
		const pair = rx1.find((p) => p['type'] === 'selected-pair' && p['pc'] === e['pc']);
		receiver = {
			frameSize: `${num(e, 'frameWidth')}x${num(e, 'frameHeight')}`,
			fps: round(frames / seconds),
			jitterBufferMs: round((delta(prev, e, 'jitterBufferDelay') / emitted) * 1000),
			jitterBufferTargetMs: round((delta(prev, e, 'jitterBufferTargetDelay') / emitted) * 1000),
			jitterBufferMinimumMs: round((delta(prev, e, 'jitterBufferMinimumDelay') / emitted) * 1000),
			decodeMs: round((delta(prev, e, 'totalDecodeTime') / frames) * 1000),
			/** First packet received → frame decoded (jitter buffer + assembly + decode). */
			processingMs: round((delta(prev, e, 'totalProcessingDelay') / frames) * 1000),
			assemblyMs: round((delta(prev, e, 'totalAssemblyTime') / delta(prev, e, 'framesAssembledFromMultiplePackets')) * 1000),
			packetLoss: round(lost / (lost + received), 3),
			nacksSent: delta(prev, e, 'nackCount'),
			plisSent: delta(prev, e, 'pliCount'),
			firsSent: delta(prev, e, 'firCount'),
			keyFramesDecoded: delta(prev, e, 'keyFramesDecoded'),
			retransmittedPacketsReceived: delta(prev, e, 'retransmittedPacketsReceived'),
			framesDropped: delta(prev, e, 'framesDropped'),
			freezes: delta(prev, e, 'freezeCount'),
			freezeSeconds: round(delta(prev, e, 'totalFreezesDuration'), 2),
			kbps: round((delta(prev, e, 'bytesReceived') * 8) / seconds / 1000, 0),
			candidatePairRttMs: round(num(pair, 'currentRoundTripTime') * 1000),
			transportProtocol: pair?.['protocol'] ?? null,
			availableIncomingKbps: round(num(pair, 'availableIncomingBitrate') / 1000, 0),
			audio: audioDeltas(rxPrev, rx1),
		};
	}
	const layers = tx1
		.filter((e) => e['type'] === 'outbound-rtp' && e['kind'] === 'video')
		.map((e) => {
			const prev = txPrev.get(`${String(e['pc'])}/${String(e['id'])}`);
			const frames = delta(prev, e, 'framesEncoded');
			const packets = delta(prev, e, 'packetsSent');
			return {
				rid: e['rid'] ?? null,
				active: e['active'] ?? null,
				frameSize: `${num(e, 'frameWidth')}x${num(e, 'frameHeight')}`,
				fps: round(frames / seconds),
				encodeMs: round((delta(prev, e, 'totalEncodeTime') / frames) * 1000),
				/** Time packets waited in the sender's pacer. */
				pacerMs: round((delta(prev, e, 'totalPacketSendDelay') / packets) * 1000),
				kbps: round((delta(prev, e, 'bytesSent') * 8) / seconds / 1000, 0),
				targetKbps: round(num(e, 'targetBitrate') / 1000, 0),
				qualityLimitationReason: e['qualityLimitationReason'] ?? null,
				nacksReceived: delta(prev, e, 'nackCount'),
				plisReceived: delta(prev, e, 'pliCount'),
				retransmittedPacketsSent: delta(prev, e, 'retransmittedPacketsSent'),
				pc: e['pc'],
			};
		})
		.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
	const sendPc = layers[0]?.pc;
	const txPair = tx1.find((p) => p['type'] === 'selected-pair' && p['pc'] === sendPc);
	const remoteInbound = tx1.filter((e) => e['type'] === 'remote-inbound-rtp' && e['pc'] === sendPc);
	const micOut = tx1.find((e) => e['type'] === 'outbound-rtp' && e['kind'] === 'audio' && e['pc'] === sendPc);
	const micPrev = micOut ? txPrev.get(`${String(micOut['pc'])}/${String(micOut['id'])}`) : undefined;
	return {
		receiver,
		sender: {
			layers,
			/** The microphone shares the send transport (and its pacer, where audio goes first). */
			audio: micOut
				? {
						kbps: round((delta(micPrev, micOut, 'bytesSent') * 8) / seconds / 1000, 0),
						withHeadersKbps: round(((delta(micPrev, micOut, 'bytesSent') + delta(micPrev, micOut, 'headerBytesSent')) * 8) / seconds / 1000, 0),
						retransmittedPacketsSent: delta(micPrev, micOut, 'retransmittedPacketsSent'),
						nacksReceived: delta(micPrev, micOut, 'nackCount'),
					}
				: null,
			availableOutgoingKbps: round(num(txPair, 'availableOutgoingBitrate') / 1000, 0),
			candidatePairRttMs: round(num(txPair, 'currentRoundTripTime') * 1000),
			transportProtocol: txPair?.['protocol'] ?? null,
			/** As the SFU reports it (RTCP RR) per layer. */
			sfuReportedFractionLost: remoteInbound.map((e) => round(num(e, 'fractionLost'), 3)),
			sfuReportedRttMs: remoteInbound.map((e) => round(num(e, 'roundTripTime') * 1000)),
		},
	};
}

interface EmulationCheck {
	/** The emulated page's media transport is on UDP (emulated) at an RTT that shows the delay (with --allow-tcp: and was never interrupted). */
	ok: boolean;
	protocol: string;
	rttMs: number;
	/** Transport disconnections / ICE restarts of the emulated page during the window (ms from its start). */
	interruptions: string[];
}

interface ConditionResult {
	id: string;
	label: string;
	emulatedOn: Condition['on'];
	emulationHeld: EmulationCheck | null;
	emulation: Emulation | null;
	loadavgBefore: [number, number, number];
	loadavgAfter: [number, number, number];
	machineBusy: number;
	cpuCores: { server: number; browser: number };
	clockOffsetMs: number;
	latency: LatencySummary;
	/** expectedDisplayTime − code. */
	displayLatency: LatencySummary;
	/** Frame's last packet received − code: capture, encode, pacing, network, SFU. */
	toReceive: LatencySummary;
	/** Callback − receiveTime: jitter buffer, decode, render. */
	receiveToCallback: LatencySummary;
	/** The sender's own local tile (capture → local render, no network): the pipeline floor. */
	localPreview: LatencySummary;
	decodeFailures: number;
	duplicateFrames: number;
	framesDrawn: number;
	/** Codes drawn in the window (minus the last second) that the receiver saw. */
	deliveredRatio: number;
	receivedSizes: Record<string, number>;
	minDecodeMargin: number;
	/** p50 of each second of the window, to show whether it was still settling. */
	p50PerSecond: number[];
	/** The client's parley:* marks of both pages in and after warm-up, ms relative to the window start (transport states, ICE restarts, layer changes). */
	marks: string[];
	/** Receiver jitter buffer per second (ms): video delay / target / minimum, audio delay / target. */
	jitterBufferPerSecond: Record<string, number[]>;
	stats: Record<string, unknown>;
	pageErrors: string[];
	/** Per presented frame: [ms since the first sample, latency, receiveTime − code, decoded frame height]. */
	samples: Array<[number, number, number, number]>;
}

async function runCondition(browser: Browser, base: string, server: Server, condition: Condition): Promise<ConditionResult> {
	const room = `g2g-${condition.id}-${Date.now().toString(36)}`;
	const sender = await newParticipant(browser, base, true, condition.on === 'sender' && !!condition.emulation);
	const receiver = await newParticipant(browser, base, false, condition.on === 'receiver' && !!condition.emulation);
	const target = condition.on === 'receiver' ? receiver : condition.on === 'sender' ? sender : null;
	const emulate = async (): Promise<void> => {
		if (!target || !condition.emulation) return;
		const cdp = await target.context.newCDPSession(target.page);
		await cdp.send('Network.enable');
		await cdp.send('Network.emulateNetworkConditions', condition.emulation);
	};
	try {
		// Before the page opens: CDP emulation does not reach WebRTC sockets opened before it
		// (set on a running call, it showed 0% loss and 1 ms RTT in the stats).
		await emulate();
		await joinCall(sender.page, room, 'Sender', condition.micOff);
		await joinCall(receiver.page, room, 'Receiver');
		await receiver.page.locator(REMOTE_VIDEO).waitFor({ state: 'attached', timeout: 15_000 });
		await receiver.page.evaluate(installDecoder, { key: 'remote', selector: REMOTE_VIDEO, layout: LAYOUT });
		await sender.page.evaluate(installDecoder, { key: 'local', selector: LOCAL_VIDEO, layout: LAYOUT });
		await receiver.page.evaluate(setCollecting, { key: 'remote', on: true });
		const firstDeadline = Date.now() + 15_000;
		while (((await receiver.page.evaluate(readReceiver, 'remote'))?.samples.length ?? 0) === 0) {
			if (Date.now() > firstDeadline) {
				// Say what the receiver had: no connection, no packets, packets but no decoded frame, or frames without a readable code.
				const [rx, tx] = await Promise.all([receiver.page.evaluate(videoStats), sender.page.evaluate(videoStats)]).catch(() => [[], []]);
				const brief = (entries: StatsEntry[]): string =>
					entries
						.filter((e) => e['kind'] === 'video' || e['type'] === 'selected-pair')
						.map((e) =>
							e['type'] === 'selected-pair'
								? `pair(${String(e['protocol'])}, DTLS ${String(e['dtlsState'])}, rtt ${String(e['currentRoundTripTime'])}, out ${String(e['availableOutgoingBitrate'] ?? '-')} bps)`
								: e['type'] === 'outbound-rtp'
									? `outbound(${String(e['rid'] ?? '-')}: active ${String(e['active'])}, packets ${String(e['packetsSent'])}, frames ${String(e['framesEncoded'])}, target ${String(e['targetBitrate'] ?? '-')} bps, limited by ${String(e['qualityLimitationReason'] ?? '-')}, keyframes ${String(e['keyFramesEncoded'] ?? '-')}, nacks ${String(e['nackCount'] ?? '-')}, plis ${String(e['pliCount'] ?? '-')})`
									: e['type'] === 'inbound-rtp'
										? `inbound(packets ${String(e['packetsReceived'])}, frames decoded ${String(e['framesDecoded'])}, keyframes ${String(e['keyFramesDecoded'] ?? '-')}, nacks ${String(e['nackCount'] ?? '-')}, plis ${String(e['pliCount'] ?? '-')})`
										: '',
						)
						.filter(Boolean)
						.join('; ');
				throw new Error(`${condition.id}: no decodable remote frame within 15 s; receiver: ${brief(rx) || 'no stats'}; sender: ${brief(tx) || 'no stats'}`);
			}
			await sleep(100);
		}
		log(`${condition.id}: joined, code decoded; warm-up ${WARMUP} s`);
		await sleep(WARMUP * 1000);

		const offsets = await Promise.all([sender.page.evaluate(clockOffset), receiver.page.evaluate(clockOffset)]);
		const load0 = loadavg();
		const [rx0, tx0] = await Promise.all([receiver.page.evaluate(videoStats), sender.page.evaluate(videoStats)]);
		const cpu0 = cpuUse(server.pid);
		const jiffies0 = machineJiffies();
		const t0 = Date.now();
		await Promise.all([
			receiver.page.evaluate(setCollecting, { key: 'remote', on: true }),
			sender.page.evaluate(setCollecting, { key: 'local', on: true }),
		]);
		log(`${condition.id}: measuring ${SECONDS} s`);
		// Once a second: the receiver's stats, for a time series of its jitter buffers.
		const series: StatsEntry[][] = [rx0];
		while (Date.now() - t0 < SECONDS * 1000 - 50) {
			await sleep(Math.min(1000, SECONDS * 1000 - (Date.now() - t0)));
			series.push(await receiver.page.evaluate(videoStats));
		}
		await Promise.all([
			receiver.page.evaluate(setCollecting, { key: 'remote', on: false }),
			sender.page.evaluate(setCollecting, { key: 'local', on: false }),
		]);
		const seconds = (Date.now() - t0) / 1000;
		const jiffies1 = machineJiffies();
		const cpu1 = cpuUse(server.pid);
		const [rx1, tx1] = await Promise.all([receiver.page.evaluate(videoStats), sender.page.evaluate(videoStats)]);
		const load1 = loadavg();
		const remote = (await receiver.page.evaluate(readReceiver, 'remote')) as ReceiverState;
		const local = (await sender.page.evaluate(readReceiver, 'local')) as ReceiverState;
		const drawn = (await sender.page.evaluate(readSender))?.drawn ?? [];
		const windowStart = t0 + offsets[1]; // the receiver's clock at t0
		const marks = [
			...(await sender.page.evaluate(parleyMarks)).map((m) => ({ ...m, who: 'sender' })),
			...(await receiver.page.evaluate(parleyMarks)).map((m) => ({ ...m, who: 'receiver' })),
		]
			.filter((m) => m.at >= windowStart - (WARMUP + 1) * 1000)
			.sort((a, b) => a.at - b.at)
			.map((m) => `${Math.round(m.at - windowStart)} ${m.who} ${m.name}`);

		const samples: Sample[] = remote.samples;
		const seen = new Set(samples.map((s) => s.code));
		const considered = drawn.slice(0, Math.max(0, drawn.length - LAYOUT.fps));
		const sizes: Record<string, number> = {};
		for (const s of samples) sizes[`${s.width}x${s.height}`] = (sizes[`${s.width}x${s.height}`] ?? 0) + 1;
		const first = samples[0]?.at ?? 0;
		const perSecond: number[] = [];
		for (let i = 0; i < Math.ceil(seconds); i++) {
			const bucket = samples.filter((s) => s.at - first >= i * 1000 && s.at - first < (i + 1) * 1000).map((s) => s.latency);
			perSecond.push(round(percentile(bucket, 50)));
		}
		const stats = statsDeltas(seconds, rx0, rx1, tx0, tx1);
		let emulationHeld: EmulationCheck | null = null;
		if (condition.emulation) {
			const side = (condition.on === 'receiver' ? stats['receiver'] : stats['sender']) as Record<string, unknown>;
			const rttMs = Number(side['candidatePairRttMs']);
			const protocol = String(side['transportProtocol']);
			const who = condition.on === 'receiver' ? 'receiver' : 'sender';
			const interruptions = marks.filter((m) => {
				const [at, page, name] = m.split(' ');
				return Number(at) >= 0 && page === who && /transport-(disconnected|failed)|ice-restart/.test(name ?? '');
			});
			// The transport that carries the measured video: the receiver's recv, the sender's send transport.
			const direction = condition.on === 'receiver' ? 'recv' : 'send';
			const relevant = interruptions.filter((m) => m.includes(`${direction}-transport-`) || m.endsWith(`ice-restart-${direction}`));
			emulationHeld = {
				// A brief disconnection that comes back on UDP keeps the emulation (TCP is not offered).
				ok: protocol === 'udp' && rttMs >= condition.emulation.latency * 1.5 && (ALLOW_TCP ? relevant.length === 0 : true),
				protocol,
				rttMs,
				interruptions,
			};
		}
		return {
			id: condition.id,
			label: condition.label,
			emulatedOn: condition.on,
			emulationHeld,
			emulation: condition.emulation,
			loadavgBefore: load0,
			loadavgAfter: load1,
			machineBusy: round(busy(jiffies0, jiffies1), 2),
			cpuCores: { server: round((cpu1.server - cpu0.server) / seconds, 2), browser: round((cpu1.browser - cpu0.browser) / seconds, 2) },
			clockOffsetMs: round(offsets[1] - offsets[0], 2),
			latency: summarize(samples.map((s) => s.latency)),
			displayLatency: summarize(samples.map((s) => s.displayLatency)),
			toReceive: summarize(samples.map((s) => s.toReceive)),
			receiveToCallback: summarize(samples.map((s) => s.latency - s.toReceive)),
			localPreview: summarize(local.samples.map((s) => s.latency)),
			decodeFailures: remote.failed,
			duplicateFrames: remote.duplicates,
			framesDrawn: drawn.length,
			deliveredRatio: round(considered.filter((c) => seen.has(c)).length / (considered.length || 1), 3),
			receivedSizes: sizes,
			minDecodeMargin: round(Math.min(...samples.map((s) => s.margin)), 0),
			p50PerSecond: perSecond,
			marks,
			jitterBufferPerSecond: jitterSeries(series),
			stats,
			pageErrors: [...sender.errors.map((e) => `sender: ${e}`), ...receiver.errors.map((e) => `receiver: ${e}`)],
			samples: samples.map((s): [number, number, number, number] => [round(s.at - first, 0), round(s.latency, 1), round(s.toReceive, 1), s.height]),
		};
	} finally {
		await Promise.all([sender.context.close().catch(() => {}), receiver.context.close().catch(() => {})]);
	}
}

// ---- Main ----------------------------------------------------------------------------

async function waitForQuiet(): Promise<{ waitedSeconds: number; busy: number }> {
	const start = Date.now();
	for (;;) {
		const a = machineJiffies();
		await sleep(2000);
		const b = busy(a, machineJiffies());
		const waited = (Date.now() - start) / 1000;
		if (b < 0.35 || waited >= QUIET_WAIT) return { waitedSeconds: round(waited, 0), busy: round(b, 2) };
		log(`machine ${Math.round(b * 100)}% busy (load ${loadavg().join(' ')}); waiting for a quieter moment`);
	}
}

function table(results: ConditionResult[]): string {
	const head = ['condition', 'n', 'fail', 'min', 'p50', 'p95', 'max', 'layer', 'fps', 'jb ms', 'busy', 'emulation'];
	const rows = results.map((r) => {
		const rx = (r.stats['receiver'] ?? {}) as Record<string, unknown>;
		return [
			r.label,
			String(r.latency.n),
			String(r.decodeFailures),
			r.latency.min.toFixed(1),
			r.latency.p50.toFixed(1),
			r.latency.p95.toFixed(1),
			r.latency.max.toFixed(1),
			String(rx['frameSize'] ?? '?'),
			String(rx['fps'] ?? '?'),
			String(rx['jitterBufferMs'] ?? '?'),
			`${Math.round(r.machineBusy * 100)}%`,
			r.emulationHeld ? (r.emulationHeld.ok ? 'held' : `NOT HELD (${r.emulationHeld.protocol}, rtt ${r.emulationHeld.rttMs})`) : '-',
		];
	});
	const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
	const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
	return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
	const budget = setTimeout(() => void fail(`time budget of ${BUDGET_MS / 1000} s exceeded`, 3), BUDGET_MS);
	const tmp = mkdtempSync(path.join(os.tmpdir(), 'parley-g2g-'));
	cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

	const quiet = await waitForQuiet();
	const loadAtStart = loadavg();
	log(`load ${loadAtStart.join(' ')}, machine ${Math.round(quiet.busy * 100)}% busy`);
	const clientBuiltAt = await ensureClientBuilt();
	const server = await startServer(path.join(tmp, 'data'));
	log(`server ${server.url} (pid ${server.pid}, media port ${server.mediaPort})`);

	const browser = await chromium.launch({
		executablePath: CHROMIUM_PATH,
		headless: true,
		args: [...CHROMIUM_ARGS],
		env: { ...process.env, TMPDIR: tmp },
		timeout: 30_000,
		// Playwright's own handlers would exit the process before the server is stopped.
		handleSIGINT: false,
		handleSIGTERM: false,
		handleSIGHUP: false,
	});
	cleanups.push(() => withTimeout('browser close', 10_000, browser.close()).catch(() => {}));

	const results: ConditionResult[] = [];
	for (const condition of CONDITIONS.filter((c) => SELECTED.includes(c.id))) {
		results.push(await withTimeout(condition.id, 60_000, runCondition(browser, server.url, server, condition)));
		const r = results.at(-1)!;
		log(`${r.id}: n=${r.latency.n} p50=${r.latency.p50} p95=${r.latency.p95} (failed ${r.decodeFailures})`);
	}

	const report = {
		benchmark: 'glass-to-glass video latency through the Parley SFU',
		generatedAt: new Date().toISOString(),
		method:
			'Sender draws its clock (timeOrigin+now, ms, low 32 bits + CRC-16) as 8x6 black/white blocks on a 1280x720 canvas at 30 fps, ' +
			'published as canvas.captureStream(30) through the real Parley client (getUserMedia replaced by an init script). ' +
			'Receiver decodes each frame its remote tile presents (requestVideoFrameCallback + drawImage + getImageData); latency = callback time − code. ' +
			'Both pages in one headless Chromium on one machine. Loss: CDP Network.emulateNetworkConditions on one page.',
		config: { seconds: SECONDS, warmupSeconds: WARMUP, emulationStarts: 'before the page opens', emulatedPageUdpOnly: !ALLOW_TCP, tuning: TUNING || null, layout: LAYOUT, chromiumArgs: CHROMIUM_ARGS, mediaWorkers: 1 },
		environment: {
			node: process.version,
			chromium: browser.version(),
			cpus: os.cpus().length,
			cpuModel: os.cpus()[0]?.model ?? '',
			loadavgAtStart: loadAtStart,
			machineBusyAtStart: quiet.busy,
			waitedForQuietSeconds: quiet.waitedSeconds,
			clientDistBuiltAt: clientBuiltAt,
		},
		targets: { loopbackP50Ms: 40, lossP50Ms: 400 },
		conditions: results,
	};
	mkdirSync(path.dirname(OUT), { recursive: true });
	writeFileSync(OUT, `${JSON.stringify(report, null, '\t')}\n`);

	console.log(`\nGlass-to-glass latency through the Parley SFU, ms (${SECONDS} s per condition after ${WARMUP} s warm-up; Chromium ${browser.version()})\n`);
	console.log(table(results));
	console.log('');
	for (const r of results) {
		const rx = (r.stats['receiver'] ?? {}) as Record<string, unknown>;
		console.log(
			`${r.id}: to-receive p50 ${r.toReceive.p50}, receive→shown p50 ${r.receiveToCallback.p50}, local preview p50 ${r.localPreview.p50}; ` +
				`loss ${rx['packetLoss']}, rtt ${rx['candidatePairRttMs']} ms, nacks ${rx['nacksSent']}, plis ${rx['plisSent']}, ` +
				`freezes ${rx['freezes']} (${rx['freezeSeconds']} s), delivered ${Math.round(r.deliveredRatio * 100)}%, load ${r.loadavgBefore[0]}`,
		);
	}
	console.log(`\nwrote ${path.relative(ROOT, OUT)}`);
	clearTimeout(budget);
}

try {
	await main();
	await cleanup();
} catch (error) {
	await fail(`glass-to-glass failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1);
}
