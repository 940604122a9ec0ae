/**
 * `npm run bench` → `node bench/run.ts [--quick] [--targets=parley,mediasoup,janus]
 * [--loads=10,50,100,200,300] [--window=8] [--rooms=4] [--joins=40] [--join-concurrency=8]
 * [--join-rate=0] [--fast-join=false] [--prepare=false]`
 *
 * Measures Parley, a raw-mediasoup harness and Janus VideoRoom side by side with the same
 * werift bots, in one run, bounded in time (< 15 min), and prints a table and writes
 * bench/results/<timestamp>.json and bench/results/latest.json.
 *
 * Per target: start the SFU (Parley as `node signaling/main.ts` with one worker; the raw
 * harness as a forked process; Janus inside a network namespace made for the run), one
 * video publisher (VP8 ~500 kbps, looped) per room, then
 *  1. join: subscriber bots join at a bounded concurrency (a closed loop: each next join
 *     starts as one ends), or with --join-rate=N at N joins a second whatever the answers
 *     (an open loop: arrivals as people click, not in step with the publishers' keyframes);
 *     connect → first RTP packet, joins per second, success ratio;
 *  2. simulcast: one 3-layer publisher and one subscriber for a few seconds;
 *  3. forwarding ramp: subscribers are added round-robin over the rooms up to each load
 *     (consumers = forwarded video streams); at each load, over a window: CPU seconds of
 *     the SFU's media process(es) from /proc (mediasoup workers, or the janus process),
 *     the Node process's own CPU, packets forwarded, loss from sequence gaps at the
 *     subscribers, one-way latency publisher → subscriber (same process, same clock),
 *     memory; the ramp stops when the bots or the machine saturate.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bot, LatencyRecorder } from './bot/bot.ts';
import type { SfuConnector } from './bot/connector.ts';
import { DirectConnector } from './bot/direct.ts';
import { loadMedia } from './bot/media.ts';
import { ParleyConnector } from './bot/parley.ts';
import { JanusConnector } from './janus/connector.ts';
import { createNetNs, type NetNs } from './janus/netns.ts';
import { startJanus, type JanusServer } from './janus/server.ts';
import { startParley } from './lib/parleyServer.ts';
import { cpuSeconds, machineCpu, percentile, rssBytes } from './lib/proc.ts';
import { RawMediasoupConnector } from './raw/connector.ts';
import { runLargeRoom, type LargeRoomResult } from './largeRoom.ts';
import { randomMediaPort } from '../test/ports.ts';

/* ---------------------------------------------------------------- options */

type TargetName = 'parley' | 'mediasoup' | 'janus';
const args = new Map(
	process.argv.slice(2).map((a) => {
		const [k, v] = a.replace(/^--/, '').split('=');
		return [k!, v ?? 'true'] as const;
	}),
);
const quick = args.get('quick') === 'true';
const opts = {
	targets: (args.get('targets') ?? 'parley,mediasoup,janus').split(',') as TargetName[],
	loads: (args.get('loads') ?? (quick ? '10,40' : '10,50,100,200,300,400')).split(',').map(Number),
	windowS: Number(args.get('window') ?? (quick ? 4 : 10)),
	receive: (args.get('receive') ?? 'lean') as 'lean' | 'full',
	settleS: quick ? 1.5 : 2,
	rooms: Number(args.get('rooms') ?? 4),
	joins: Number(args.get('joins') ?? (quick ? 12 : 40)),
	joinConcurrency: Number(args.get('join-concurrency') ?? 8),
	/** Open loop: a join starts every 1/N s, round-robin over the rooms (0: the closed loop of joinConcurrency). */
	joinRate: Number(args.get('join-rate') ?? 0),
	/** Parley's bots join as the browser does (capabilities reused, room:join brings the receive side); --fast-join=false: one request after another. */
	fastJoin: args.get('fast-join') !== 'false',
	/** Parley's bots prepare their receive connection before the timed join, as the browser's lobby does; --prepare=false: not. */
	prepare: args.get('prepare') !== 'false',
	budgetS: Number(args.get('budget') ?? 12.5 * 60),
	/** One room over 1 then 2 workers (bench/largeRoom.ts); --large-room=false skips it. */
	largeRoom: args.get('large-room') !== 'false' && (args.get('targets') ?? 'parley').includes('parley'),
	largeRoomSubscribers: Number(args.get('large-room-subscribers') ?? (quick ? 40 : 150)),
};
/** How the joins come: a closed loop of N at a time, or (--join-rate) an open loop. */
const joinLoad = (): string =>
	opts.joinRate > 0 ? `${opts.joinRate} joins/s offered over ${opts.rooms} rooms, open loop` : `${opts.joinConcurrency} at a time over ${opts.rooms} rooms`;
/** Seconds kept for the large-room case at the end. */
const LARGE_ROOM_S = 150;
const T_START = performance.now();
const elapsedS = (): number => (performance.now() - T_START) / 1000;
/** Bots count as saturated above this share of one core (they run in this one Node process). */
const BOT_SATURATED = 0.85;
const MACHINE_SATURATED = 0.9;
/** Other processes above this (% of one core) make a window suspect: it is measured again. */
const OTHERS_INTERFERING = 30;

const log = (msg: string): void => {
	process.stderr.write(`[bench ${elapsedS().toFixed(0).padStart(3)}s] ${msg}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* ---------------------------------------------------------------- cleanup */

const cleanups: (() => Promise<void> | void)[] = [];
const syncCleanups = new Set<() => void>();
let cleaning = false;
async function cleanupAll(): Promise<void> {
	if (cleaning) return;
	cleaning = true;
	for (const c of cleanups.reverse()) {
		try {
			await Promise.race([c(), sleep(8000)]);
		} catch {
			/* keep going */
		}
	}
	for (const c of syncCleanups) c();
}
process.on('exit', () => {
	for (const c of syncCleanups) c();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
	process.on(sig, () => {
		log(`${sig}: cleaning up`);
		void cleanupAll().finally(() => process.exit(130));
	});
}
const hardStop = setTimeout(() => {
	log('hard time limit reached; cleaning up');
	void cleanupAll().finally(() => process.exit(2));
}, (opts.budgetS + 60) * 1000);
hardStop.unref();

/* ---------------------------------------------------------------- targets */

interface Target {
	name: TargetName;
	connector: SfuConnector;
	/** Media process(es): mediasoup workers or janus. */
	mediaPids: number[];
	/** The Node control process (Parley server, raw harness); none for Janus. */
	nodePid?: number;
	version: string;
	stop(): Promise<void>;
}

async function startTarget(name: TargetName): Promise<Target> {
	if (name === 'parley') {
		const server = await startParley({ mediaPort: randomMediaPort() });
		return {
			name,
			connector: new ParleyConnector({ url: server.url, token: server.token, fastJoin: opts.fastJoin }),
			mediaPids: server.workerPids,
			nodePid: server.pid,
			version: `parley ${pkgVersion('../package.json')}, mediasoup ${pkgVersion('../node_modules/mediasoup/package.json')}`,
			stop: server.stop,
		};
	}
	if (name === 'mediasoup') {
		const connector = await RawMediasoupConnector.start(randomMediaPort());
		return {
			name,
			connector,
			mediaPids: [connector.workerPid],
			nodePid: connector.child.pid!,
			version: `mediasoup ${pkgVersion('../node_modules/mediasoup/package.json')} (raw harness)`,
			stop: () => connector.close(),
		};
	}
	let ns: NetNs | undefined;
	let janus: JanusServer | undefined;
	if (!existsSync('/usr/bin/janus')) throw new Error('janus is not installed (Debian: apt-get install -y janus)');
	if (process.getuid?.() !== 0) throw new Error('Janus runs in a network namespace, which needs root');
	try {
		ns = createNetNs();
		const nsRef = ns;
		syncCleanups.add(nsRef.remove);
		janus = await startJanus(ns);
		const j = janus;
		return {
			name,
			connector: new JanusConnector({ wsUrl: janus.wsUrl, localAddress: ns.hostAddress }),
			mediaPids: [janus.pid],
			version: janusVersion(),
			stop: async () => {
				await j.stop();
				nsRef.remove();
				syncCleanups.delete(nsRef.remove);
			},
		};
	} catch (error) {
		await janus?.stop();
		ns?.remove();
		throw error;
	}
}

function pkgVersion(rel: string): string {
	try {
		return (JSON.parse(readFileSync(path.join(import.meta.dirname, rel), 'utf8')) as { version: string }).version;
	} catch {
		return '?';
	}
}

function janusVersion(): string {
	try {
		const out = execFileSync('janus', ['--version'], { encoding: 'utf8' });
		return `janus ${/\((\S+)\)/.exec(out)?.[1] ?? '?'} (Debian package)`;
	} catch {
		return 'janus ?';
	}
}

/* ---------------------------------------------------------------- measurements */

interface LoadResult {
	consumers: number;
	participants: number;
	windowS: number;
	forwardedPktsPerS: number;
	streamKbps: number;
	sfuCpuPct: number;
	usPerPacket: number;
	cpuMsPerStreamS: number;
	streamsPerCore: number;
	nodeCpuPct: number | null;
	lossPct: number;
	starvedSubscribers: number;
	latencyP50Ms: number;
	latencyP99Ms: number;
	latencySamples: number;
	sfuRssMB: number;
	memPerParticipantMB: number;
	botCpuPct: number;
	machineBusyPct: number;
	/** CPU of everything else on the machine (other processes), % of one core. */
	othersCpuPct: number;
	eventLoopP99Ms: number;
	/** Our own limits reached (bots, machine busy with our processes, starved subscribers). */
	saturated: string | null;
	/** Other processes on the machine used much CPU during the window. */
	interference: string | null;
}

interface JoinResult {
	attempted: number;
	succeeded: number;
	successRatio: number;
	joinsPerS: number;
	firstPacketP50Ms: number;
	firstPacketP95Ms: number;
	firstKeyframeP50Ms: number;
	firstKeyframeP95Ms: number;
	/** connect → the SFU's join answered (signaling alone). */
	joinedP50Ms: number;
	/** connect → the receive connection is connected (ICE + DTLS; 0 when prepared before). */
	connectedP50Ms: number;
	/** Joins whose receive connection was prepared before (the lobby's POST /api/media/prepare), and how long that took (outside the timed join). */
	prepared: number;
	preparedP50Ms: number;
	/** Keyframe requests the rooms' publishers dropped during the joins (one taken per 300 ms, as Chromium). */
	keyframeRequestsDropped: number;
	errors: string[];
}

interface SimulcastResult {
	ok: boolean;
	receivedKbps: number;
	keyframes: number;
	note: string;
}

interface LatencyResult {
	p50Ms: number;
	p99Ms: number;
	samples: number;
	/** p50 minus the direct (no SFU) p50 of the same bots. */
	addedP50Ms?: number;
	addedP99Ms?: number;
}

interface TargetResult {
	name: TargetName;
	version: string;
	baselineRssMB: number;
	join?: JoinResult;
	latency?: LatencyResult;
	simulcast?: SimulcastResult;
	loads: LoadResult[];
	error?: string;
	notes: string[];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mb = (bytes: number) => bytes / 1024 / 1024;

function sfuRss(t: Target): number {
	return sum([...t.mediaPids, ...(t.nodePid ? [t.nodePid] : [])].map(rssBytes));
}

/** `each` over every bot, at most `concurrency` at a time, in order. */
async function atMost(bots: Bot[], concurrency: number, each: (bot: Bot) => Promise<void>): Promise<void> {
	let i = 0;
	const worker = async () => {
		while (i < bots.length) await each(bots[i++]!);
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, bots.length) }, worker));
}

async function startBots(bots: Bot[], concurrency: number, onError: (b: Bot, e: Error) => void): Promise<Bot[]> {
	const ok: Bot[] = [];
	await atMost(bots, concurrency, async (bot) => {
		try {
			await bot.start();
			ok.push(bot);
		} catch (error) {
			onError(bot, error as Error);
			await bot.close();
		}
	});
	return ok;
}

async function joinPhase(t: Target, rooms: string[], publishers: Bot[], latency: LatencyRecorder): Promise<JoinResult> {
	const dropped = (): number => sum(publishers.map((p) => p.sent().keyframeRequestsDropped));
	const bots = Array.from(
		{ length: opts.joins },
		(_, i) =>
			new Bot({
				connector: t.connector,
				room: rooms[i % rooms.length]!,
				identity: `join-${i}`,
				subscribe: true,
				latency,
				receiveMode: opts.receive,
			}),
	);
	const errors: string[] = [];
	// As the browser's lobby does (Parley; --prepare=false: not): every bot's receive connection
	// is set up first, 8 at a time, outside the timed joins (people wait in the lobby, then click).
	let prepared = 0;
	if (opts.prepare) {
		await atMost(bots, opts.joinConcurrency, async (bot) => {
			try {
				if (await bot.prepare()) prepared++;
			} catch (error) {
				errors.push(`${bot.identity}: prepare: ${(error as Error).message}`);
			}
		});
	}
	const dropped0 = dropped();
	const t0 = performance.now();
	let done = 0;
	let last = t0;
	// A join succeeds when its first video keyframe (the first frame a decoder can show) arrives
	// within 10 s of starting. Janus forwards from the first packet, mediasoup from the next
	// keyframe, so "first packet" alone would count Janus's undecodable packets as joined.
	const joinOne = async (bot: Bot): Promise<void> => {
		try {
			await bot.start();
			const deadline = performance.now() + 10_000;
			while (bot.timing.firstKeyframeMs === undefined && performance.now() < deadline) await sleep(5);
			if (bot.timing.firstKeyframeMs !== undefined) {
				done++;
				last = performance.now();
			} else errors.push(`${bot.identity}: no video keyframe within 10 s`);
		} catch (error) {
			errors.push(`${bot.identity}: ${(error as Error).message}`);
		}
	};
	if (opts.joinRate > 0) {
		// Open loop: the i-th join starts at i / rate seconds, whether or not the earlier ones are done.
		await Promise.all(
			bots.map(async (bot, i) => {
				await sleep(Math.max(0, t0 + (i * 1000) / opts.joinRate - performance.now()));
				await joinOne(bot);
			}),
		);
	} else await atMost(bots, opts.joinConcurrency, joinOne);
	const first = bots.map((b) => b.timing.firstPacketMs).filter((x): x is number => x !== undefined);
	const kf = bots.map((b) => b.timing.firstKeyframeMs).filter((x): x is number => x !== undefined);
	const joined = bots.map((b) => b.timing.joinedMs).filter((x): x is number => x !== undefined);
	const connected = bots.map((b) => b.timing.connectedMs).filter((x): x is number => x !== undefined);
	const preparing = bots.map((b) => b.timing.preparedMs).filter((x): x is number => x !== undefined);
	await Promise.all(bots.map((b) => b.close()));
	return {
		attempted: bots.length,
		succeeded: done,
		successRatio: done / bots.length,
		joinsPerS: done / ((last - t0) / 1000),
		firstPacketP50Ms: percentile(first, 50),
		firstPacketP95Ms: percentile(first, 95),
		firstKeyframeP50Ms: percentile(kf, 50),
		firstKeyframeP95Ms: percentile(kf, 95),
		joinedP50Ms: percentile(joined, 50),
		connectedP50Ms: percentile(connected, 50),
		prepared,
		preparedP50Ms: percentile(preparing, 50),
		keyframeRequestsDropped: dropped() - dropped0,
		errors: [...new Set(errors)].slice(0, 5),
	};
}

/** One publisher (video + audio) and one subscriber; one-way latency of every packet over a few seconds. */
async function latencyPhase(connector: SfuConnector, room: string): Promise<LatencyResult> {
	const latency = new LatencyRecorder();
	const pub = new Bot({ connector, room, identity: 'lat-pub', publish: { video: 'single', audio: true } });
	const sub = new Bot({ connector, room, identity: 'lat-sub', subscribe: true, latency, receiveMode: opts.receive });
	try {
		// The direct connector pairs both ends at once; SFUs want the publisher first.
		if (connector.name === 'direct') await Promise.all([pub.start(), sub.start()]);
		else {
			await pub.start();
			await sub.start();
		}
		await sleep(1500);
		latency.reset();
		await sleep(quick ? 3000 : 6000);
		return { p50Ms: percentile(latency.samples, 50), p99Ms: percentile(latency.samples, 99), samples: latency.samples.length };
	} finally {
		await Promise.all([sub.close(), pub.close()]);
	}
}

async function simulcastPhase(t: Target): Promise<SimulcastResult> {
	const pub = new Bot({ connector: t.connector, room: 'bench-simulcast', identity: 'sim-pub', publish: { video: 'simulcast', audio: false } });
	const sub = new Bot({ connector: t.connector, room: 'bench-simulcast', identity: 'sim-sub', subscribe: true, receiveMode: opts.receive });
	try {
		await pub.start();
		await sub.start();
		await sleep(1500);
		const a = sub.received().video;
		await sleep(2500);
		const b = sub.received().video;
		const kbps = ((b.bytes - a.bytes) * 8) / 2.5 / 1000;
		return {
			ok: b.packets > 0 && b.keyframes > 0,
			receivedKbps: kbps,
			keyframes: b.keyframes,
			note: 'one 3-layer VP8 publisher (150/500/1200 kbps), one subscriber, no bandwidth feedback: the SFU picks the layer',
		};
	} catch (error) {
		return { ok: false, receivedKbps: 0, keyframes: 0, note: (error as Error).message };
	} finally {
		await Promise.all([sub.close(), pub.close()]);
	}
}

async function measureWindow(t: Target, publishers: Bot[], subs: Bot[], latency: LatencyRecorder, baseRss: number): Promise<LoadResult> {
	const recv = () => subs.map((b) => b.received().video);
	const elu = monitorEventLoopDelay({ resolution: 10 });
	const skipped = () => sum(publishers.map((p) => p.sent().framesSkipped));
	const s0 = skipped();
	const r0 = recv();
	const sfu0 = sum(t.mediaPids.map(cpuSeconds));
	const node0 = t.nodePid ? cpuSeconds(t.nodePid) : NaN;
	const bot0 = process.cpuUsage();
	const m0 = machineCpu();
	const w0 = performance.now();
	latency.reset();
	elu.enable();
	await sleep(opts.windowS * 1000);
	elu.disable();
	const dt = (performance.now() - w0) / 1000;
	const s1 = skipped();
	const r1 = recv();
	const sfu1 = sum(t.mediaPids.map(cpuSeconds));
	const node1 = t.nodePid ? cpuSeconds(t.nodePid) : NaN;
	const bot = process.cpuUsage(bot0);
	const m1 = machineCpu();
	let packets = 0;
	let bytes = 0;
	let lost = 0;
	let expected = 0;
	let starved = 0;
	r1.forEach((b, i) => {
		const a = r0[i]!;
		packets += b.packets - a.packets;
		bytes += b.bytes - a.bytes;
		lost += Math.max(0, b.lost - a.lost); // late packets can fill earlier gaps
		expected += b.expected - a.expected;
		if (b.packets === a.packets) starved++;
	});
	const consumers = subs.length;
	const sfuCpu = sfu1 - sfu0;
	const botShare = (bot.user + bot.system) / 1e6 / dt;
	const machineBusy = 1 - (m1.idle - m0.idle) / (m1.total - m0.total);
	const rss = sfuRss(t);
	const participants = consumers + publishers.length;
	const cpuPerStreamS = sfuCpu / (consumers * dt);
	const nodePct = t.nodePid ? ((node1 - node0) / dt) * 100 : 0;
	const othersPct = Math.max(0, machineBusy * os.cpus().length * 100 - botShare * 100 - (sfuCpu / dt) * 100 - nodePct);
	const saturated: string[] = [];
	if (botShare > BOT_SATURATED) saturated.push(`bots ${(botShare * 100).toFixed(0)}% of a core`);
	if (machineBusy > MACHINE_SATURATED && othersPct < OTHERS_INTERFERING) saturated.push(`machine ${(machineBusy * 100).toFixed(0)}% busy`);
	if (starved > 0) saturated.push(`${starved} subscriber(s) got nothing`);
	const busyOthers = othersPct >= OTHERS_INTERFERING;
	// Late frames are our own limit only when nothing else was loading the machine.
	if (s1 - s0 > 0 && !busyOthers) saturated.push(`publishers skipped ${s1 - s0} late frames`);
	const interference = busyOthers
		? `other processes used ${othersPct.toFixed(0)}% of a core${s1 - s0 > 0 ? ` (publishers skipped ${s1 - s0} late frames)` : ''}`
		: null;
	return {
		consumers,
		participants,
		windowS: dt,
		forwardedPktsPerS: packets / dt,
		streamKbps: (bytes * 8) / 1000 / dt / Math.max(1, consumers),
		sfuCpuPct: (sfuCpu / dt) * 100,
		usPerPacket: packets > 0 ? (sfuCpu / packets) * 1e6 : NaN,
		cpuMsPerStreamS: cpuPerStreamS * 1000,
		streamsPerCore: cpuPerStreamS > 0 ? 1 / cpuPerStreamS : NaN,
		nodeCpuPct: t.nodePid ? ((node1 - node0) / dt) * 100 : null,
		lossPct: expected > 0 ? (lost / expected) * 100 : NaN,
		starvedSubscribers: starved,
		latencyP50Ms: percentile(latency.samples, 50),
		latencyP99Ms: percentile(latency.samples, 99),
		latencySamples: latency.samples.length,
		sfuRssMB: mb(rss),
		memPerParticipantMB: mb(rss - baseRss) / participants,
		botCpuPct: botShare * 100,
		machineBusyPct: machineBusy * 100,
		othersCpuPct: othersPct,
		eventLoopP99Ms: elu.percentile(99) / 1e6,
		saturated: saturated.length ? saturated.join(', ') : null,
		interference,
	};
}

async function runTarget(name: TargetName, budgetS: number, direct: LatencyResult | undefined): Promise<TargetResult> {
	const result: TargetResult = { name, version: '?', baselineRssMB: NaN, loads: [], notes: [] };
	const deadline = elapsedS() + budgetS;
	log(`${name}: starting`);
	let target: Target;
	try {
		target = await startTarget(name);
	} catch (error) {
		result.error = (error as Error).message;
		log(`${name}: could not start: ${result.error}`);
		return result;
	}
	const t = target;
	result.version = t.version;
	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		await t.stop();
	};
	cleanups.push(stop);
	const all: Bot[] = [];
	cleanups.push(() => Promise.all(all.map((b) => b.close())).then(() => {}));
	try {
		if (t.mediaPids.length === 0 || t.mediaPids.some((p) => Number.isNaN(cpuSeconds(p)))) {
			throw new Error(`cannot read /proc for the media process(es) ${t.mediaPids.join(',')}`);
		}
		if (name === 'parley') result.notes.push(`mediasoup worker pid(s) ${t.mediaPids.join(',')} (children of Parley pid ${t.nodePid})`);
		await sleep(500);
		const baseRss = sfuRss(t);
		result.baselineRssMB = mb(baseRss);
		const latency = new LatencyRecorder();
		const rooms = Array.from({ length: opts.rooms }, (_, i) => `bench-${i}`);
		const publishers = rooms.map(
			(room, i) => new Bot({ connector: t.connector, room, identity: `pub-${i}`, publish: { video: 'single', audio: false } }),
		);
		all.push(...publishers);
		await Promise.all(publishers.map((p) => p.start()));
		await sleep(1000);

		log(`${name}: join phase (${opts.joins} subscribers, ${joinLoad()})`);
		result.join = await joinPhase(t, rooms, publishers, latency);
		log(
			`${name}: joins ${result.join.succeeded}/${result.join.attempted}, ${result.join.joinsPerS.toFixed(1)}/s, ` +
				`first packet p50 ${result.join.firstPacketP50Ms.toFixed(0)} ms`,
		);

		log(`${name}: latency (1 publisher → 1 subscriber)`);
		result.latency = await latencyPhase(t.connector, 'bench-latency');
		if (direct) {
			result.latency.addedP50Ms = result.latency.p50Ms - direct.p50Ms;
			result.latency.addedP99Ms = result.latency.p99Ms - direct.p99Ms;
		}
		log(`${name}: latency p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms`);

		log(`${name}: simulcast check`);
		result.simulcast = await simulcastPhase(t);
		log(`${name}: simulcast ${result.simulcast.ok ? 'ok' : 'FAILED'}: ${result.simulcast.receivedKbps.toFixed(0)} kbps received`);

		const subs: Bot[] = [];
		let failures = 0;
		for (const load of opts.loads) {
			if (elapsedS() > deadline - (opts.windowS + 20)) {
				result.notes.push(`stopped before ${load} consumers: time budget`);
				break;
			}
			const add = Array.from(
				{ length: load - subs.length },
				(_, i) =>
					new Bot({
						connector: t.connector,
						room: rooms[(subs.length + i) % rooms.length]!,
						identity: `sub-${subs.length + i}`,
						subscribe: true,
						latency,
						receiveMode: opts.receive,
					}),
			);
			all.push(...add);
			log(`${name}: ramp to ${load} consumers (+${add.length})`);
			const started = await startBots(add, opts.joinConcurrency, (b, e) => {
				failures++;
				if (failures <= 3) result.notes.push(`${b.identity} failed to join at load ${load}: ${e.message}`);
			});
			subs.push(...started);
			await Promise.all(started.map((b) => b.connected().catch(() => {})));
			await sleep(opts.settleS * 1000);
			let r = await measureWindow(t, publishers, subs, latency, baseRss);
			// Someone else loaded the machine: wait and measure again (once), keep the quietest window.
			for (let retry = 0; retry < 1 && r.interference && !r.saturated && elapsedS() < deadline - (opts.windowS + 20); retry++) {
				log(`${name} @${r.consumers}: ${r.interference}; measuring again`);
				await sleep(3000);
				const again = await measureWindow(t, publishers, subs, latency, baseRss);
				if (again.othersCpuPct < r.othersCpuPct) r = again;
			}
			if (r.interference) result.notes.push(`@${r.consumers}: ${r.interference} (the SFU's CPU is per process; latency suffers)`);
			result.loads.push(r);
			log(
				`${name} @${r.consumers}: ${r.forwardedPktsPerS.toFixed(0)} pkt/s, SFU ${r.sfuCpuPct.toFixed(1)}% ` +
					`(${r.usPerPacket.toFixed(1)} µs/pkt), bots ${r.botCpuPct.toFixed(0)}%, machine ${r.machineBusyPct.toFixed(0)}%, ` +
					`loss ${r.lossPct.toFixed(2)}%, latency p50 ${r.latencyP50Ms.toFixed(1)} ms` +
					(r.saturated ? ` — SATURATED: ${r.saturated}` : '') +
					(r.interference ? ` — ${r.interference}` : ''),
			);
			if (r.saturated) {
				result.notes.push(`ramp stopped at ${r.consumers} consumers: ${r.saturated}`);
				break;
			}
		}
		if (failures > 0) result.notes.push(`${failures} subscriber join(s) failed during the ramp`);
	} catch (error) {
		result.error = (error as Error).message;
		log(`${name}: error: ${result.error}`);
	} finally {
		log(`${name}: stopping ${all.length} bots and the server`);
		await Promise.race([Promise.all(all.map((b) => b.close())), sleep(15_000)]);
		await stop();
	}
	return result;
}

/* ---------------------------------------------------------------- report */

function fmt(x: number | null | undefined, digits = 1): string {
	if (x === null || x === undefined || Number.isNaN(x)) return '—';
	if (!Number.isFinite(x)) return '∞';
	return x.toFixed(digits);
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
	if (a == null || b == null || Number.isNaN(a) || Number.isNaN(b) || b === 0) return null;
	return a / b;
}

function table(rows: string[][]): string {
	const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
	return rows.map((r, i) => {
		const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
		return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
	}).join('\n');
}

/** The figure at the highest load every target reached (or the target's own highest). */
function atLoad(r: TargetResult | undefined, consumers: number | undefined): LoadResult | undefined {
	if (!r || r.loads.length === 0) return undefined;
	if (consumers === undefined) return r.loads[r.loads.length - 1];
	return r.loads.find((l) => l.consumers === consumers) ?? r.loads[r.loads.length - 1];
}

/**
 * Least-squares fit of SFU CPU (cores) against forwarded packets/s over the unsaturated
 * loads: the slope is the marginal cost of a forwarded packet, the intercept the fixed
 * cost (publishers' ingest, timers); projected to one full core.
 */
function fitCost(r: TargetResult | undefined): { marginalUsPerPacket: number; fixedCpuPct: number; projectedStreamsPerCore: number } | undefined {
	const usable = (r?.loads ?? []).filter((l) => !l.saturated && l.forwardedPktsPerS > 0);
	const quiet = usable.filter((l) => !l.interference);
	const pts = quiet.length >= 2 ? quiet : usable;
	if (pts.length < 2) return undefined;
	const xs = pts.map((l) => l.forwardedPktsPerS);
	const ys = pts.map((l) => l.sfuCpuPct / 100);
	const mx = sum(xs) / xs.length;
	const my = sum(ys) / ys.length;
	const sxx = sum(xs.map((x) => (x - mx) ** 2));
	const slope = sum(xs.map((x, i) => (x - mx) * (ys[i]! - my))) / sxx;
	const intercept = my - slope * mx;
	const pktsPerStream = sum(pts.map((l) => l.forwardedPktsPerS / l.consumers)) / pts.length;
	return {
		marginalUsPerPacket: slope * 1e6,
		fixedCpuPct: intercept * 100,
		projectedStreamsPerCore: slope > 0 ? (1 - Math.max(0, intercept)) / (slope * pktsPerStream) : NaN,
	};
}

function report(results: TargetResult[], direct: LatencyResult | undefined): { text: string; summary: Record<string, Record<string, number | null>> } {
	const out: string[] = [];
	const by = new Map(results.map((r) => [r.name, r]));
	out.push(
		`Forwarding: ${opts.rooms} rooms, one VP8 publisher (~500 kbps, 30 fps, looped) each; consumers = forwarded video streams.` +
			`\nSFU CPU = user+system CPU of the media process(es) from /proc (mediasoup worker; janus: the whole process). Window ${opts.windowS} s per load.`,
	);
	const rows = [
		['target @consumers', 'pkt/s', 'kbps/str', 'SFU CPU%', 'µs/pkt', 'ms CPU/str·s', 'str/core', 'Node CPU%', 'loss%', 'lat p50', 'lat p99', 'RSS MB', 'MB/part', 'bots%', 'others%', 'machine%', 'saturated'],
	];
	for (const r of results) {
		for (const l of r.loads) {
			rows.push([
				`${r.name} @${l.consumers}`,
				fmt(l.forwardedPktsPerS, 0),
				fmt(l.streamKbps, 0),
				fmt(l.sfuCpuPct),
				fmt(l.usPerPacket),
				fmt(l.cpuMsPerStreamS, 3),
				fmt(l.streamsPerCore, 0),
				l.nodeCpuPct === null ? 'n/a' : fmt(l.nodeCpuPct),
				fmt(l.lossPct, 2),
				fmt(l.latencyP50Ms),
				fmt(l.latencyP99Ms),
				fmt(l.sfuRssMB, 0),
				fmt(l.memPerParticipantMB, 2),
				fmt(l.botCpuPct, 0),
				fmt(l.othersCpuPct, 0),
				fmt(l.machineBusyPct, 0),
				l.saturated ? 'YES' : l.interference ? 'others' : 'no',
			]);
		}
		if (r.error) rows.push([`${r.name}: ERROR`, r.error.slice(0, 100)]);
	}
	out.push(table(rows.map((r) => (r.length < rows[0]!.length ? [...r, ...Array(rows[0]!.length - r.length).fill('')] : r))));

	out.push(
		`\nJoin (subscriber joining a room with a live video publisher, ${joinLoad()}): connect → first RTP packet, → first video keyframe ` +
			'(what joins/s and ok count), → join answered, → receive connection connected; keyframe requests the publishers dropped ' +
			'(each takes one per 300 ms and drops the rest, as Chromium does); simulcast check',
	);
	const jrows = [['target', 'joins', 'ok', 'joins/s', 'p50 ms', 'p95 ms', 'keyframe p50', 'keyframe p95', 'joined p50', 'connected p50', 'prepared', 'prepare p50', 'kf req dropped', 'simulcast kbps', 'simulcast']];
	for (const r of results) {
		const j = r.join;
		jrows.push([
			r.name,
			j ? String(j.attempted) : '—',
			j ? `${fmt(j.successRatio * 100, 0)}%` : '—',
			fmt(j?.joinsPerS),
			fmt(j?.firstPacketP50Ms, 0),
			fmt(j?.firstPacketP95Ms, 0),
			fmt(j?.firstKeyframeP50Ms, 0),
			fmt(j?.firstKeyframeP95Ms, 0),
			fmt(j?.joinedP50Ms, 0),
			fmt(j?.connectedP50Ms, 0),
			j ? String(j.prepared) : '—',
			j?.prepared ? fmt(j.preparedP50Ms, 0) : '—',
			j ? String(j.keyframeRequestsDropped) : '—',
			fmt(r.simulcast?.receivedKbps, 0),
			r.simulcast ? (r.simulcast.ok ? 'ok' : 'FAILED') : '—',
		]);
	}
	out.push(table(jrows));

	// Headline figures and ratios.
	const reached = results.filter((r) => r.loads.length > 0);
	const common = reached.length
		? Math.min(...reached.map((r) => r.loads.filter((l) => !l.saturated).at(-1)?.consumers ?? r.loads[0]!.consumers))
		: undefined;
	const lowest = reached.length ? Math.min(...reached.map((r) => r.loads[0]!.consumers)) : undefined;
	const fig = (name: TargetName) => {
		const r = by.get(name);
		const c = atLoad(r, common);
		const low = atLoad(r, lowest);
		const fit = fitCost(r);
		return {
			marginalUsPerPacket: fit?.marginalUsPerPacket ?? null,
			projectedStreamsPerCore: fit?.projectedStreamsPerCore ?? null,
			usPerPacket: c?.usPerPacket ?? null,
			cpuMsPerStreamS: c?.cpuMsPerStreamS ?? null,
			streamsPerCore: c?.streamsPerCore ?? null,
			lossPct: c?.lossPct ?? null,
			nodeCpuPct: c?.nodeCpuPct ?? null,
			latencyP50Ms: r?.latency?.p50Ms ?? null,
			latencyP99Ms: r?.latency?.p99Ms ?? null,
			latencyAddedP50Ms: r?.latency?.addedP50Ms ?? null,
			latencyAddedP99Ms: r?.latency?.addedP99Ms ?? null,
			latencyAtLowestP50Ms: low?.latencyP50Ms ?? null,
			joinP50Ms: r?.join?.firstPacketP50Ms ?? null,
			joinP95Ms: r?.join?.firstPacketP95Ms ?? null,
			joinKeyframeP50Ms: r?.join?.firstKeyframeP50Ms ?? null,
			joinKeyframeP95Ms: r?.join?.firstKeyframeP95Ms ?? null,
			joinsPerS: r?.join?.joinsPerS ?? null,
			joinSuccess: r?.join?.successRatio ?? null,
			memPerParticipantMB: c?.memPerParticipantMB ?? null,
		};
	};
	const summary: Record<string, Record<string, number | null>> = {};
	for (const r of results) summary[r.name] = fig(r.name);
	const labels: [keyof ReturnType<typeof fig>, string, number][] = [
		['usPerPacket', `SFU CPU µs per forwarded packet @${common} (average)`, 1],
		['marginalUsPerPacket', 'SFU CPU µs per forwarded packet (marginal, fit over loads)', 1],
		['cpuMsPerStreamS', `SFU CPU ms per forwarded stream-second @${common}`, 3],
		['streamsPerCore', `~500 kbps streams per core at the @${common} average cost`, 0],
		['projectedStreamsPerCore', '~500 kbps streams per core (fit projected to 100%)', 0],
		['lossPct', `loss added by the SFU % @${common}`, 2],
		['nodeCpuPct', `Node control process CPU % @${common}`, 1],
		['latencyP50Ms', 'latency pub→SFU→sub p50 ms (1 pub, 1 sub)', 2],
		['latencyP99Ms', 'latency pub→SFU→sub p99 ms (1 pub, 1 sub)', 2],
		['latencyAddedP50Ms', `latency added by the SFU hop p50 ms (direct: ${fmt(direct?.p50Ms, 2)})`, 2],
		['latencyAddedP99Ms', `latency added by the SFU hop p99 ms (direct: ${fmt(direct?.p99Ms, 2)})`, 2],
		['latencyAtLowestP50Ms', `latency p50 ms @${lowest} consumers`, 1],
		['joinP50Ms', 'join → first packet p50 ms', 0],
		['joinP95Ms', 'join → first packet p95 ms', 0],
		['joinKeyframeP50Ms', 'join → first video keyframe p50 ms', 0],
		['joinKeyframeP95Ms', 'join → first video keyframe p95 ms', 0],
		['joinsPerS', `joins per second to a first keyframe (${joinLoad()})`, 1],
		['joinSuccess', 'join success ratio', 2],
		['memPerParticipantMB', `SFU memory per participant MB @${common}`, 2],
	];
	const names = results.map((r) => r.name);
	const srows = [['figure', ...names, 'parley/raw', 'parley/janus']];
	for (const [key, label, d] of labels) {
		srows.push([
			label,
			...names.map((n) => fmt(summary[n]?.[key], d)),
			fmt(ratio(summary.parley?.[key], summary.mediasoup?.[key]), 2),
			fmt(ratio(summary.parley?.[key], summary.janus?.[key]), 2),
		]);
	}
	out.push(`\nSummary (ratios: Parley divided by the other; for CPU, latency, join time and memory lower is better)`);
	out.push(table(srows));
	out.push(
		[
			'\nMethod and caveats:',
			`- Bots: werift ${pkgVersion('../node_modules/werift/package.json')} in this one Node process (one send and/or receive PeerConnection per bot, real ICE/DTLS/SRTP);`,
			`  receive path "${opts.receive}"${opts.receive === 'lean' ? ' (packets counted after SRTP decryption; no receiver reports, NACK or bandwidth feedback go back to the SFU)' : ' (werift receive pipeline incl. RTCP receiver reports and NACK)'}.`,
			`- Saturated = bots above ${BOT_SATURATED * 100}% of one core, machine above ${MACHINE_SATURATED * 100}% busy, a subscriber starved or publishers skipped late frames; the ramp stops there.`,
			'- others% = CPU of every other process on the machine during the window (% of one core); machine% counts all cores.',
			`  A window where others% > ${OTHERS_INTERFERING} is measured again once and marked "others" if it stays busy.`,
			'- Latency = subscriber receive time minus publisher send time of the same payload, both in this process; it includes the bots\' own',
			'  event-loop delays, hence the direct werift → werift baseline and the "added by the SFU hop" rows.',
			`- Streams per core are linear projections of CPU per forwarded stream (measured up to the highest load), not measured saturation.`,
		].join('\n'),
	);
	const notes = results.flatMap((r) => [...r.notes.map((n) => `${r.name}: ${n}`), ...(r.join?.errors ?? []).map((e) => `${r.name} join: ${e}`)]);
	if (notes.length) out.push(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
	return { text: out.join('\n'), summary };
}

/* ---------------------------------------------------------------- main */

async function main(): Promise<void> {
	log(`options: ${JSON.stringify(opts)}`);
	await loadMedia();
	log('direct (no SFU) latency baseline: werift → werift');
	let direct: LatencyResult | undefined;
	try {
		direct = await latencyPhase(new DirectConnector(), 'direct');
		log(`direct: latency p50 ${direct.p50Ms.toFixed(2)} ms, p99 ${direct.p99Ms.toFixed(2)} ms`);
	} catch (error) {
		log(`direct baseline failed: ${(error as Error).message}`);
	}
	const results: TargetResult[] = [];
	for (const [i, name] of opts.targets.entries()) {
		const remaining = opts.budgetS - (opts.largeRoom ? LARGE_ROOM_S : 0) - elapsedS();
		const budget = remaining / (opts.targets.length - i);
		results.push(await runTarget(name, budget, direct));
	}
	let largeRoom: LargeRoomResult | undefined;
	if (opts.largeRoom) {
		log(`large room: one room, ${opts.largeRoomSubscribers} subscribers, 1 then 2 workers`);
		try {
			largeRoom = await runLargeRoom({ subscribers: opts.largeRoomSubscribers, windowS: opts.windowS, log });
		} catch (error) {
			log(`large room failed: ${(error as Error).message}`);
		}
	}
	const reported = report(results, direct);
	const text = largeRoom ? `${reported.text}\n\n${largeRoom.text}` : reported.text;
	const summary = reported.summary;
	process.stdout.write(`\n${text}\n`);
	const stamp = new Date().toISOString().replace(/[:.]/g, '-');
	const dir = path.join(import.meta.dirname, 'results');
	mkdirSync(dir, { recursive: true });
	const json = {
		startedAt: new Date(Date.now() - elapsedS() * 1000).toISOString(),
		durationS: elapsedS(),
		machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGB: os.totalmem() / 2 ** 30, kernel: os.release() },
		node: process.version,
		options: opts,
		method: {
			bots: 'werift 0.25.2 PeerConnections in the benchmark process (one send and/or one receive connection per bot), lean receive path',
			cpu: '/proc/<pid>/stat utime+stime of the SFU media process(es) over the window',
			latency: 'publisher send time vs subscriber receive time of the same payload (same process, performance.now())',
			saturation: `bots > ${BOT_SATURATED * 100}% of one core, machine > ${MACHINE_SATURATED * 100}% busy, or a subscriber starved`,
		},
		summary,
		direct,
		targets: results,
		largeRoom,
		table: text,
	};
	writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify(json, null, 2));
	writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(json, null, 2));
	log(`wrote bench/results/${stamp}.json and bench/results/latest.json (${elapsedS().toFixed(0)} s)`);
}

main()
	.catch((error: unknown) => {
		log(`failed: ${(error as Error).stack ?? String(error)}`);
		process.exitCode = 1;
	})
	.finally(async () => {
		await cleanupAll();
		clearTimeout(hardStop);
		// werift and socket.io leave timers behind; the run is over.
		setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
	});

