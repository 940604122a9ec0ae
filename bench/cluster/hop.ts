/**
 * The inter-node hop of cascading: what a stream pays to cross from the node that receives
 * it to another node over the mediasoup PipeTransport link (SRTP, RTX) that the cluster
 * negotiates over Redis.
 *
 *   node bench/cluster/hop.ts [--streams=10] [--seconds=8] [--pps=90] [--port-base=27340]
 *        [--out=bench/results/cluster-hop.json]
 *
 * Two node processes (bench/cluster/cascadeNode.ts: a real mediasoup worker each, the
 * cluster's Cascade) on a real redis-server (PARLEY_TEST_REDIS_URL or a throwaway one).
 * `--streams` video streams (one-packet VP8 keyframes, ~1000 bytes, `--pps` a second,
 * ~0.7 Mbit/s each) enter node A through PlainTransports.
 *   1. baseline: each stream is consumed twice on node A (two PlainTransport consumers);
 *   2. piped: one consumer on A, the other on node B through the pipe (pulled over Redis).
 * The same number of streams leaves the cluster in both phases, so the difference of the two
 * workers' CPU (from /proc) is the cost of piping: reported per piped stream. Latency: each
 * packet's arrival at the consumer on A (direct) and on B (across the hop) on one clock;
 * the added hop latency is B − A per packet. Prints a table and writes JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, percentile } from '../lib/proc.ts';
import { redisForTests } from '../../test/redis.ts';
import { receiveRtp, sendRtp, startCascadeNode, type RtpReceiver, type RtpSender } from './cascadeNodes.ts';

function arg(name: string, fallback: string): string {
	const a = process.argv.find((x) => x.startsWith(`--${name}=`));
	return a ? a.slice(name.length + 3) : fallback;
}
const STREAMS = Number(arg('streams', '10'));
const SECONDS = Number(arg('seconds', '8'));
const PPS = Number(arg('pps', '90'));
const PORT_BASE = Number(arg('port-base', '27340'));
const OUT = arg('out', path.join(import.meta.dirname, '..', 'results', 'cluster-hop.json'));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function cpuOver(pids: number[], ms: number): Promise<number[]> {
	const before = pids.map(cpuSeconds);
	const t0 = performance.now();
	await sleep(ms);
	const elapsed = (performance.now() - t0) / 1000;
	return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / elapsed) * 100);
}

const redis = await redisForTests();
const a = await startCascadeNode('hop-a', redis.url, { min: PORT_BASE, max: PORT_BASE + 59 });
const b = await startCascadeNode('hop-b', redis.url, { min: PORT_BASE + 60, max: PORT_BASE + 119 });
const room = `hop-${Date.now().toString(36)}`;
const senders: RtpSender[] = [];
const receivers: RtpReceiver[] = [];
try {
	const streams: { producerId: string; direct: RtpReceiver; extra: RtpReceiver; extraConsumer: string; piped?: RtpReceiver; sender: RtpSender }[] = [];
	for (let i = 0; i < STREAMS; i++) {
		const ssrc = 10_000 + i;
		const ingest = await a.call<{ port: number; producerId: string }>({ cmd: 'ingest', room, ssrc });
		const direct = await receiveRtp();
		const extra = await receiveRtp();
		receivers.push(direct, extra);
		await a.call({ cmd: 'egress', room, producerId: ingest.producerId, port: direct.port });
		const { consumerId } = await a.call<{ consumerId: string }>({ cmd: 'egress', room, producerId: ingest.producerId, port: extra.port });
		const sender = sendRtp(ingest.port, ssrc, i * 10_000_000, PPS);
		senders.push(sender);
		streams.push({ producerId: ingest.producerId, direct, extra, extraConsumer: consumerId, sender });
	}
	await sleep(1500);
	const [baseA = 0, baseB = 0] = await cpuOver([a.workerPid, b.workerPid], SECONDS * 1000);

	const pullStart = performance.now();
	for (const s of streams) {
		await a.call({ cmd: 'closeEgress', consumerId: s.extraConsumer });
		await b.call({ cmd: 'pull', room, node: a.id, producerId: s.producerId });
		s.piped = await receiveRtp();
		receivers.push(s.piped);
		await b.call({ cmd: 'egress', room, producerId: s.producerId, port: s.piped.port });
	}
	const pullMs = (performance.now() - pullStart) / STREAMS;
	await sleep(1500);
	const windowStart = performance.now();
	const [pipeA = 0, pipeB = 0] = await cpuOver([a.workerPid, b.workerPid], SECONDS * 1000);
	const windowEnd = performance.now();

	const direct: number[] = [];
	const piped: number[] = [];
	const added: number[] = [];
	let sent = 0;
	let lost = 0;
	for (const s of streams) {
		for (const [counter, at] of s.sender.sent) {
			if (at < windowStart || at > windowEnd - 500) continue;
			sent++;
			const d = s.direct.received.get(counter);
			const p = s.piped!.received.get(counter);
			if (p === undefined) lost++;
			if (d !== undefined) direct.push(d - at);
			if (p !== undefined) piped.push(p - at);
			if (d !== undefined && p !== undefined) added.push(p - d);
		}
	}
	const ms = (xs: number[], q: number): number => Math.round(percentile(xs, q) * 1000) / 1000;
	const perStream = (pipeA + pipeB - baseA - baseB) / STREAMS;
	const result = {
		when: new Date().toISOString(),
		load: os.loadavg()[0],
		streams: STREAMS,
		packetsPerSecond: PPS,
		seconds: SECONDS,
		latencyMs: {
			direct: { p50: ms(direct, 50), p95: ms(direct, 95), p99: ms(direct, 99) },
			piped: { p50: ms(piped, 50), p95: ms(piped, 95), p99: ms(piped, 99) },
			addedByHop: { p50: ms(added, 50), p95: ms(added, 95), p99: ms(added, 99) },
		},
		packets: { sent, lostAcrossHop: lost },
		cpuPercentOfOneCore: { baseline: { a: baseA, b: baseB }, piped: { a: pipeA, b: pipeB }, perPipedStream: perStream },
		pullMsPerStream: pullMs,
	};
	console.log(`\ninter-node hop: ${STREAMS} video streams × ${PPS} packets/s, ${SECONDS} s per phase, load ${result.load?.toFixed(2)}`);
	console.log('| path | p50 ms | p95 ms | p99 ms |');
	console.log('|---|---|---|---|');
	for (const [name, l] of Object.entries(result.latencyMs)) console.log(`| ${name} | ${l.p50} | ${l.p95} | ${l.p99} |`);
	console.log(`\npackets in the window: ${sent}, lost across the hop: ${lost}`);
	console.log('| phase | worker A CPU % | worker B CPU % |');
	console.log('|---|---|---|');
	console.log(`| baseline (2 consumers on A) | ${baseA.toFixed(1)} | ${baseB.toFixed(1)} |`);
	console.log(`| piped (1 on A, 1 on B across the pipe) | ${pipeA.toFixed(1)} | ${pipeB.toFixed(1)} |`);
	console.log(`\nCPU per piped stream: ${perStream.toFixed(2)} % of one core; pull (over Redis, first one opens the link): ${pullMs.toFixed(1)} ms per stream`);
	mkdirSync(path.dirname(OUT), { recursive: true });
	writeFileSync(OUT, `${JSON.stringify({ ...result, samples: { addedByHop: added.slice(0, 2000) } }, null, 2)}\n`);
	console.log(`wrote ${OUT}`);
} finally {
	for (const s of senders) s.stop();
	for (const r of receivers) r.close();
	await Promise.allSettled([a.stop(), b.stop()]);
	await redis.stop();
}
