/**
 * A dead mediasoup worker, with lightweight clients: one room of `--bots` werift bots (each
 * publishing VP8 simulcast + Opus and receiving everyone) on a Parley server with two
 * workers, placed by headroom so that the room starts spread over both. Each round kills a
 * worker with SIGKILL (the first round the one hosting fewer bots, then the one hosting
 * everyone) and measures per bot, from the kill, when the first packet of every other bot's
 * audio and video arrives again. The bots do what the browser client does on
 * media:reconnect: they take the media session the server prepared (receive transport with
 * consumers, send transport), publish, and use the consumers pushed with the others' new
 * producers (`--prepared=false`: they join again on the same connection instead, the
 * fallback path).
 *
 * This is the path e2e/failover.spec.ts measures in Chromium, without three browsers
 * encoding and decoding 720p simulcast on the same two cores: what Parley's move costs by
 * itself (plus a keyframe from each publisher).
 *
 *   node bench/failover/worker.ts [--rounds=5] [--bots=4] [--media-base=30390] [--prepared=false]
 *
 * Prints a table and writes bench/results/worker-failover.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Bot } from '../bot/bot.ts';
import { loadMedia } from '../bot/media.ts';
import { ParleyConnector } from '../bot/parley.ts';
import { startParley } from '../lib/parleyServer.ts';
import { percentile } from '../lib/proc.ts';

const { values } = parseArgs({
	options: {
		rounds: { type: 'string', default: '5' },
		bots: { type: 'string', default: '4' },
		'media-base': { type: 'string', default: '30390' },
		prepared: { type: 'string', default: 'true' },
	},
});
const rounds = Number(values.rounds);
const botCount = Math.max(2, Number(values.bots));
/** Give up on a round after this long (ms). */
const ROUND_LIMIT_MS = 20_000;

interface AdminView {
	workers: { index: number; pid: number }[];
	rooms: { id: string; peers: { id: string; worker: number }[] }[];
}

interface Round {
	round: number;
	case: string;
	moved: number;
	/** Per bot: kill → the first packet of every other bot's audio and video (ms; null: not within the limit). */
	backMs: (number | null)[];
	/** Per stream (bot × other bot × kind): kill → its first packet (ms). */
	streamMs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[failover] ${msg}`);

await loadMedia();
const server = await startParley({
	workers: 2,
	mediaPort: Number(values['media-base']),
	env: { PARLEY_PLACEMENT_SPREAD_CONSUMERS: '0', PARLEY_OPS_DRAIN_GRACE_MS: '0' },
});
const bots: Bot[] = [];
const results: Round[] = [];
const room = `worker-failover-${Date.now().toString(36)}`;
const expected = 2 * (botCount - 1);
const view = async (): Promise<AdminView> => (await (await fetch(`${server.url}/admin/rooms`)).json()) as AdminView;

/** Watch every bot from `at`; resolves with each bot's first-packet map once complete or at the limit. */
async function watch(at: number): Promise<Map<string, number>[]> {
	for (const b of bots) b.watchFrom(at);
	const end = performance.now() + ROUND_LIMIT_MS;
	while (performance.now() < end && bots.some((b) => b.firstPacketsSince().size < expected)) await sleep(50);
	return bots.map((b) => b.firstPacketsSince());
}

try {
	const connector = new ParleyConnector({ url: server.url, token: (r, id, grants) => server.token(r, id, grants), usePrepared: values.prepared !== 'false' });
	for (let i = 0; i < botCount; i++) {
		const bot = new Bot({ connector, room, identity: `bot${i}`, publish: { video: 'simulcast', audio: true }, subscribe: true });
		bots.push(bot);
		await bot.start();
	}
	const ready = await watch(performance.now());
	if (ready.some((m) => m.size < expected)) throw new Error(`not everyone receives everyone: ${ready.map((m) => m.size).join(', ')} of ${expected}`);
	log(`${botCount} bots, everyone receives everyone`);

	for (let round = 1; round <= rounds; round++) {
		await sleep(1500);
		const v = await view();
		const peers = v.rooms.find((r) => r.id === room)?.peers ?? [];
		const byWorker = new Map<number, string[]>();
		for (const p of peers) byWorker.set(p.worker, [...(byWorker.get(p.worker) ?? []), p.id]);
		const [worker, moving] = [...byWorker.entries()].sort((a, b) => a[1].length - b[1].length)[0]!;
		const pid = v.workers.find((w) => w.index === worker)!.pid;
		const what = byWorker.size > 1 ? `spread room: ${moving.length} of ${peers.length} on the killed worker` : 'everyone on the killed worker';
		const t0 = performance.now();
		for (const b of bots) b.watchFrom(t0);
		process.kill(pid, 'SIGKILL');
		const maps = await watch(t0);
		const backMs = maps.map((m) => (m.size < expected ? null : Math.round(Math.max(...m.values()))));
		const streamMs = maps.flatMap((m) => [...m.values()].map(Math.round));
		results.push({ round, case: what, moved: moving.length, backMs, streamMs });
		log(`round ${round} (${what}): media back per bot ${backMs.map((x) => (x === null ? 'never' : `${x} ms`)).join(', ')}`);
		// The replacement worker starts (100 ms, doubling on repeated deaths within a minute).
		await sleep(2500);
	}
} finally {
	await Promise.all(bots.map((b) => b.close()));
	await server.stop();
}

const all = results.flatMap((r) => r.backMs.map((x) => x ?? Infinity));
const table = results.map((r) => ({
	round: r.round,
	case: r.case,
	'p50 ms': percentile(r.backMs.map((x) => x ?? Infinity), 50),
	'max ms': Math.max(...r.backMs.map((x) => x ?? Infinity)),
}));
console.table(table);
const summary = { p50: percentile(all, 50), p95: percentile(all, 95), max: Math.max(...all) };
console.log(`kill → media back per bot over ${results.length} kills: p50 ${summary.p50} ms, p95 ${summary.p95} ms, max ${summary.max} ms (goal p95 ≤ 3000 ms)`);
const moves = { total: bots.reduce((n, b) => n + b.mediaMoves, 0), prepared: bots.reduce((n, b) => n + b.preparedMoves, 0) };
console.log(`media moves: ${moves.total}, of which set up from the session the server prepared: ${moves.prepared}`);
const out = path.join(import.meta.dirname, '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
	path.join(out, 'worker-failover.json'),
	JSON.stringify({ date: new Date().toISOString(), bots: botCount, prepared: values.prepared !== 'false', moves, summary, rounds: results }, null, 2),
);
