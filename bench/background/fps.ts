/**
 * Background blur in a real call: its frame rate, cost and whether the page stays responsive.
 *
 *   node bench/background/fps.ts [--seconds=20] [--http-port=4320] [--media-port=30320]
 *        [--out=bench/results/background.json]
 *
 * Starts Parley (dev mode, one worker, the built client: run `npm run build` first) and
 * Debian's Chromium with its fake camera. Alice and Bob join one room through the real UI;
 * then, each for `--seconds`: (1) blur off, (2) blur on (chosen in Alice's camera menu, after a
 * 5 s warm-up). Per phase: the processed frames per second and cost per frame, the model's
 * runs per second and cost (Alice's stats panel, sampled every second), the frames per second
 * Bob decodes of Alice's video (WebRTC stats), Alice's main-thread long tasks (Long Tasks API:
 * count, longest, share of the time blocked), whether she stayed joined, and the machine's load.
 * Prints a table and writes JSON. Hold /tmp/parley-e2e.lock while it runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from '@playwright/test';
import { longTaskCount, longTasksSince, readEffect, recordLongTasks, type EffectReading } from '../../e2e/background-probe.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts';
import { join, readInboundStats, recordPeerConnections, remoteTile, uniqueRoom } from '../../e2e/fixtures.ts';
import { startParley, type ParleyServer } from '../lib/parleyServer.ts';

const { values } = parseArgs({
	options: {
		seconds: { type: 'string', default: '20' },
		'http-port': { type: 'string', default: '4320' },
		'media-port': { type: 'string', default: '30320' },
		out: { type: 'string', default: 'bench/results/background.json' },
	},
});
const SECONDS = Number(values.seconds);

interface Phase {
	phase: 'off' | 'blur';
	processedFps: number | null;
	msPerFrame: number | null;
	modelRunsPerSecond: number | null;
	modelMs: number | null;
	bobDecodedFps: number;
	longTasks: number;
	longestTaskMs: number;
	blockedPercent: number;
	stayedJoined: boolean;
	load1: number;
}

const median = (xs: number[]): number | null => {
	if (xs.length === 0) return null;
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)]!;
};

async function measurePhase(phase: Phase['phase'], alice: Page, bob: Page): Promise<Phase> {
	const tasksFrom = await longTaskCount(alice);
	const before = await readInboundStats(bob);
	const started = Date.now();
	const readings: EffectReading[] = [];
	while (Date.now() - started < SECONDS * 1000) {
		await alice.waitForTimeout(1000);
		const r = await readEffect(alice);
		if (r) readings.push(r);
	}
	const elapsed = (Date.now() - started) / 1000;
	const after = await readInboundStats(bob);
	const tasks = await longTasksSince(alice, tasksFrom);
	const status = await alice.getByTestId('call').getAttribute('data-status');
	const num = (pick: (r: EffectReading) => number | null): number | null => median(readings.map(pick).filter((v): v is number => v !== null));
	return {
		phase,
		processedFps: num((r) => r.fps),
		msPerFrame: num((r) => r.ms),
		modelRunsPerSecond: num((r) => r.modelFps),
		modelMs: num((r) => r.modelMs),
		bobDecodedFps: Math.round(((after.video.framesDecoded - before.video.framesDecoded) / elapsed) * 10) / 10,
		longTasks: tasks.length,
		longestTaskMs: Math.round(Math.max(0, ...tasks)),
		blockedPercent: Math.round((tasks.reduce((s, t) => s + t, 0) / (elapsed * 1000)) * 1000) / 10,
		stayedJoined: status === 'joined',
		load1: Math.round(os.loadavg()[0]! * 10) / 10,
	};
}

async function main(): Promise<void> {
	const httpPort = Number(values['http-port']);
	let server: ParleyServer | undefined;
	let browser: Browser | undefined;
	try {
		server = await startParley({
			httpPort,
			mediaPort: Number(values['media-port']),
			env: { PARLEY_DEV: 'true', PARLEY_HTTP_PUBLIC_URL: `http://127.0.0.1:${httpPort}` },
		});
		browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
		const open = async (name: string): Promise<Page> => {
			const context = await browser!.newContext({ baseURL: server!.url, viewport: { width: 1280, height: 720 }, permissions: ['camera', 'microphone'] });
			await context.addInitScript(recordPeerConnections);
			await context.addInitScript(recordLongTasks);
			return context.newPage();
		};
		const room = uniqueRoom('bench-bg');
		const alice = await open('Alice');
		const bob = await open('Bob');
		await join(alice, { room, name: 'Alice' });
		await join(bob, { room, name: 'Bob' });
		await remoteTile(bob, 'Alice').locator('video').waitFor();
		await alice.getByTestId('toggle-stats').click();
		await alice.waitForTimeout(3000);
		const phases: Phase[] = [];
		phases.push(await measurePhase('off', alice, bob));
		await alice.getByTestId('camera-menu').click();
		await alice.getByTestId('call-background-select').selectOption('blur');
		await alice.keyboard.press('Escape');
		await alice.waitForTimeout(5000);
		phases.push(await measurePhase('blur', alice, bob));
		console.table(phases);
		const result = { when: new Date().toISOString(), seconds: SECONDS, cpus: os.cpus().length, phases };
		mkdirSync(path.dirname(values.out), { recursive: true });
		writeFileSync(values.out, JSON.stringify(result, null, 2));
		console.log(`wrote ${values.out}`);
	} finally {
		await browser?.close().catch(() => {});
		await server?.stop().catch(() => {});
	}
}

await main();
