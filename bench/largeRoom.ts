/**
 * The large-room case (`npm run bench` runs it after the targets; alone:
 * `node bench/largeRoom.ts [--subscribers=150] [--window=10]`): one room, one VP8 ~500 kbps +
 * Opus publisher, many werift subscriber bots, on Parley with 1 worker and then with 2
 * workers (`placement.spreadConsumers` set so the room fills the first worker halfway and
 * spreads to the second, through a pipe).
 *
 * A room on one worker can use one core; spread over two it can use both. On this
 * machine the bots share the two cores with the SFU, so the machine's capacity cannot be
 * reached directly: it is projected from the measured worker CPU per forwarded stream
 * (`cores / CPU-seconds per stream-second`), which includes the pipe's own cost. Also:
 * the latency of subscribers on the publisher's worker vs on the other worker (the pipe
 * hop), from the same payload-matching clock as the main benchmark.
 */
import { performance } from 'node:perf_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Bot, LatencyRecorder } from './bot/bot.ts';
import { loadMedia } from './bot/media.ts';
import { ParleyConnector } from './bot/parley.ts';
import { startParley } from './lib/parleyServer.ts';
import { cpuSeconds, percentile } from './lib/proc.ts';
import { randomMediaPort } from '../test/ports.ts';

export interface LargeRoomOptions {
	subscribers: number;
	windowS: number;
	log: (msg: string) => void;
}

export interface LargeRoomRun {
	workers: number;
	consumers: number;
	/** Subscribers per worker (from the admin view). */
	placement: Record<string, number>;
	forwardedVideoPktsPerS: number;
	/** CPU of all workers over the window, percent of one core. */
	workerCpuPct: number;
	perWorkerCpuPct: number[];
	/** Worker CPU-seconds per forwarded stream-second (audio + video consumers). */
	cpuMsPerStreamS: number;
	/** Projected ~500 kbps streams (consumers) one room can carry on this machine: usable cores / cost. */
	projectedStreams: number;
	lossPct: number;
	/** One-way latency of subscribers on the publisher's worker and on the other one (ms). */
	latencySameWorker: { p50: number; p99: number; samples: number };
	latencyOtherWorker: { p50: number; p99: number; samples: number } | null;
}

export interface LargeRoomResult {
	runs: LargeRoomRun[];
	/** projectedStreams(2 workers) / projectedStreams(1 worker); goal ≥ 1.8. */
	ratio: number | null;
	/** p50 latency added by the pipe hop (other worker − same worker, ms). */
	pipeHopP50Ms: number | null;
	pipeHopP99Ms: number | null;
	text: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOnce(workers: 1 | 2, o: LargeRoomOptions): Promise<LargeRoomRun> {
	// Consumers per subscriber: video + audio. Spread the 2-worker room halfway through.
	const consumers = o.subscribers * 2;
	const server = await startParley({
		workers,
		mediaPort: randomMediaPort(),
		env: { PARLEY_PLACEMENT_SPREAD_CONSUMERS: String(workers === 1 ? 100_000 : Math.ceil(consumers / 2)), PARLEY_MEDIA_QUALITY_INTERVAL_MS: '0' },
	});
	const bots: Bot[] = [];
	try {
		const connector = new ParleyConnector({ url: server.url, token: server.token });
		const room = 'large';
		const publisher = new Bot({ connector, room, identity: 'pub', publish: { video: 'single', audio: true } });
		bots.push(publisher);
		await publisher.start();
		const recorders = new Map<string, LatencyRecorder>();
		const subs: Bot[] = [];
		const subscriber = async (identity: string, attempt = 0): Promise<Bot> => {
			const latency = new LatencyRecorder(2000);
			const bot = new Bot({ connector, room, identity: attempt ? `${identity}-retry${attempt}` : identity, subscribe: true, latency });
			bots.push(bot);
			try {
				await bot.start();
			} catch (error) {
				// Under load a request can fail (e.g. a connect answered late); one fresh try.
				await bot.close().catch(() => undefined);
				if (attempt >= 2) throw error;
				o.log(`subscriber ${identity} failed (${(error as Error).message}); trying again`);
				return subscriber(identity, attempt + 1);
			}
			recorders.set(attempt ? `${identity}-retry${attempt}` : identity, latency);
			subs.push(bot);
			return bot;
		};
		for (let i = 0; i < o.subscribers; i += 4) {
			await Promise.all(Array.from({ length: Math.min(4, o.subscribers - i) }, (_, j) => subscriber(`sub-${i + j}`)));
		}
		await Promise.all(subs.map((b) => b.connected()));
		await sleep(3000);
		const view = (await (await fetch(`${server.url}/admin/rooms`)).json()) as {
			workers: { index: number; pid: number }[];
			rooms: { peers: { id: string; worker: number }[] }[];
		};
		const peers = view.rooms[0]?.peers ?? [];
		const pubWorker = peers.find((p) => p.id === 'pub')?.worker ?? 0;
		const workerOf = new Map(peers.map((p) => [p.id, p.worker]));
		const placement: Record<string, number> = {};
		for (const p of peers) if (p.id !== 'pub') placement[`worker ${p.worker}`] = (placement[`worker ${p.worker}`] ?? 0) + 1;
		const pids = view.workers.map((w) => w.pid);
		for (const r of recorders.values()) r.reset();
		const recv0 = subs.map((b) => b.received().video);
		const cpu0 = pids.map(cpuSeconds);
		const t0 = performance.now();
		await sleep(o.windowS * 1000);
		const dt = (performance.now() - t0) / 1000;
		const cpu1 = pids.map(cpuSeconds);
		const recv1 = subs.map((b) => b.received().video);
		let packets = 0;
		let lost = 0;
		let expected = 0;
		recv1.forEach((b, i) => {
			const a = recv0[i]!;
			packets += b.packets - a.packets;
			lost += Math.max(0, b.lost - a.lost);
			expected += b.expected - a.expected;
		});
		const perWorker = cpu1.map((c, i) => ((c - cpu0[i]!) / dt) * 100);
		const cpuS = cpu1.reduce((n, c, i) => n + c - cpu0[i]!, 0);
		const liveConsumers = subs.length * 2;
		const cpuPerStreamS = cpuS / (liveConsumers * dt);
		const same: number[] = [];
		const other: number[] = [];
		for (const [identity, r] of recorders) (workerOf.get(identity) === pubWorker ? same : other).push(...r.samples);
		const lat = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), samples: xs.length });
		const run: LargeRoomRun = {
			workers,
			consumers: liveConsumers,
			placement,
			forwardedVideoPktsPerS: packets / dt,
			workerCpuPct: (cpuS / dt) * 100,
			perWorkerCpuPct: perWorker,
			cpuMsPerStreamS: cpuPerStreamS * 1000,
			projectedStreams: cpuPerStreamS > 0 ? workers / cpuPerStreamS : NaN,
			lossPct: expected > 0 ? (lost / expected) * 100 : NaN,
			latencySameWorker: lat(same),
			latencyOtherWorker: other.length ? lat(other) : null,
		};
		o.log(
			`large room, ${workers} worker(s): ${liveConsumers} consumers ${JSON.stringify(placement)}, workers ${perWorker.map((p) => p.toFixed(0)).join('+')}% CPU, ` +
				`${run.cpuMsPerStreamS.toFixed(3)} ms CPU per stream-s → ${run.projectedStreams.toFixed(0)} streams projected, loss ${run.lossPct.toFixed(2)}%`,
		);
		return run;
	} finally {
		await Promise.all(bots.map((b) => b.close().catch(() => undefined)));
		await server.stop();
	}
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

export async function runLargeRoom(o: LargeRoomOptions): Promise<LargeRoomResult> {
	const one = await runOnce(1, o);
	const two = await runOnce(2, o);
	const ratio = one.projectedStreams > 0 ? two.projectedStreams / one.projectedStreams : null;
	const hop = (k: 'p50' | 'p99') => (two.latencyOtherWorker ? two.latencyOtherWorker[k] - two.latencySameWorker[k] : null);
	const rows = [
		['large room (1 publisher, one room)', '1 worker', '2 workers', '2/1'],
		['consumers (video + audio)', String(one.consumers), String(two.consumers), ''],
		['subscribers per worker', JSON.stringify(one.placement), JSON.stringify(two.placement), ''],
		['worker CPU (% of a core)', f(one.workerCpuPct), `${f(two.workerCpuPct)} (${two.perWorkerCpuPct.map((p) => f(p, 0)).join('+')})`, ''],
		['worker CPU per forwarded stream (ms/s)', f(one.cpuMsPerStreamS, 3), f(two.cpuMsPerStreamS, 3), f(two.cpuMsPerStreamS / one.cpuMsPerStreamS, 2)],
		['~500 kbps streams per machine (projected)', f(one.projectedStreams, 0), f(two.projectedStreams, 0), f(ratio, 2)],
		['loss at the subscribers', `${f(one.lossPct, 2)} %`, `${f(two.lossPct, 2)} %`, ''],
		[
			'latency p50 / p99, same worker (ms)',
			`${f(one.latencySameWorker.p50, 2)} / ${f(one.latencySameWorker.p99, 2)}`,
			`${f(two.latencySameWorker.p50, 2)} / ${f(two.latencySameWorker.p99, 2)}`,
			'',
		],
		[
			'latency p50 / p99, through the pipe (ms)',
			'',
			two.latencyOtherWorker ? `${f(two.latencyOtherWorker.p50, 2)} / ${f(two.latencyOtherWorker.p99, 2)}` : '-',
			`hop +${f(hop('p50'), 2)} / +${f(hop('p99'), 2)}`,
		],
	];
	const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
	const text = rows.map((r) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`).join('\n');
	return { runs: [one, two], ratio, pipeHopP50Ms: hop('p50'), pipeHopP99Ms: hop('p99'), text };
}

if (import.meta.filename === process.argv[1]) {
	const args = new Map(
		process.argv.slice(2).map((a) => {
			const [k, v] = a.replace(/^--/, '').split('=');
			return [k!, v ?? 'true'] as const;
		}),
	);
	const log = (msg: string) => process.stderr.write(`[large-room] ${msg}\n`);
	await loadMedia();
	const result = await runLargeRoom({ subscribers: Number(args.get('subscribers') ?? 150), windowS: Number(args.get('window') ?? 10), log });
	process.stdout.write(`\n${result.text}\n`);
	const dir = path.join(import.meta.dirname, 'results');
	mkdirSync(dir, { recursive: true });
	writeFileSync(path.join(dir, 'large-room.json'), JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2));
	log('wrote bench/results/large-room.json');
	setTimeout(() => process.exit(0), 200).unref();
}
