/**
 * Node failover: two Parley nodes on one Redis behind haproxy (deploy/haproxy.cfg). Each
 * round, `--clients` Socket.IO clients enter one room through haproxy (the room lands on
 * one node), join it and send chat; the room's node is killed with kill -9; every client
 * comes back by itself through haproxy (as the browser does: wrong_node → ?node=) and joins
 * the room again on the live node. Measured per client: kill → connected, kill → joined
 * (room:join answered: signaling and the SFU room back; a browser's media needs its ICE and
 * DTLS on top, ~0.3 s here); chat lost or doubled across the kill (from chat:sync). The killed
 * node is started again before the next round.
 *
 *   node bench/cluster/failover.ts [--rounds=5] [--clients=6] [--ttl=3000]
 *
 * Ports (this developer's range): haproxy 4350, nodes 4351-4352, media 30350-30351, Redis
 * 6450; override with --http-base, --media-base, --redis-port. Prints a table and writes
 * bench/results/cluster-failover.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { connectThrough, startClusterWithRestart, startHaproxy } from '../lib/cluster.ts';
import { percentile } from '../lib/proc.ts';
import { joinRoom, ok, type TestClient } from '../../test/harness.ts';
import { startRedisOnce } from '../../test/redis.ts';

const { values } = parseArgs({
	options: {
		rounds: { type: 'string', default: '5' },
		clients: { type: 'string', default: '6' },
		ttl: { type: 'string', default: '3000' },
		'http-base': { type: 'string', default: '4350' },
		'media-base': { type: 'string', default: '30350' },
		'redis-port': { type: 'string', default: '6450' },
	},
});
const rounds = Number(values.rounds);
const clientCount = Number(values.clients);
const ttl = Number(values.ttl);
const httpBase = Number(values['http-base']);

interface Round {
	round: number;
	killed: string;
	clients: number;
	connectedMs: number[];
	joinedMs: number[];
	lost: number;
	duplicated: number;
}

const redisProcess = await startRedisOnce(Number(values['redis-port']));
const redisUrl = `redis://127.0.0.1:${values['redis-port']}`;
const store = new Redis(redisUrl);
const cluster = await startClusterWithRestart({
	redisUrl,
	ids: ['node1', 'node2'],
	exactIds: true,
	httpBasePort: httpBase + 1,
	mediaBasePort: Number(values['media-base']),
	env: {
		PARLEY_CLUSTER_HEARTBEAT_MS: String(Math.max(100, Math.floor(ttl / 3))),
		PARLEY_CLUSTER_NODE_TTL_MS: String(ttl),
		PARLEY_LOG_LEVEL: 'warn',
	},
});
const lb = await startHaproxy(cluster.nodes, httpBase);
const results: Round[] = [];
const sockets: TestClient[] = [];
try {
	for (let round = 1; round <= rounds; round++) {
		const room = `failover-${Date.now().toString(36)}-${round}`;
		const token = (i: number) => cluster.nodes[0]!.token(room, `bot${i}`, { publish: true, subscribe: true });
		const first = await Promise.all(Array.from({ length: clientCount }, (_, i) => connectThrough(lb.url, token(i))));
		sockets.push(...first.map((c) => c.socket));
		await Promise.all(first.map((c) => joinRoom(c.socket)));
		const sent = new Set<string>();
		for (const [i, c] of first.entries()) {
			const id = `r${round}-b${i}-before`;
			await ok(c.socket, 'chat:send', { id, text: 'before' });
			sent.add(id);
		}
		const host = (await store.get(`parley:room:{${room}}`))!;
		const index = cluster.nodes.findIndex((n) => n.id === host);
		const killedAt = Date.now();
		await cluster.nodes[index]!.kill();
		const back = await Promise.all(
			first.map(async (c, i) => {
				c.socket.disconnect();
				// Socket.IO's own reconnection would start at once too; the old node's id is kept.
				const again = await connectThrough(lb.url, token(i), host, 30_000);
				const connectedMs = Date.now() - killedAt;
				sockets.push(again.socket);
				await joinRoom(again.socket);
				const id = `r${round}-b${i}-after`;
				await ok(again.socket, 'chat:send', { id, text: 'after' });
				sent.add(id);
				return { socket: again.socket, connectedMs, joinedMs: Date.now() - killedAt };
			}),
		);
		const synced = await ok(back[0]!.socket, 'chat:sync', { afterSeq: 0 });
		const ids = synced.messages.map((m) => m.id);
		const lost = [...sent].filter((id) => !ids.includes(id)).length;
		const duplicated = ids.length - new Set(ids).size;
		results.push({
			round,
			killed: host,
			clients: clientCount,
			connectedMs: back.map((b) => b.connectedMs),
			joinedMs: back.map((b) => b.joinedMs),
			lost,
			duplicated,
		});
		for (const s of sockets.splice(0)) s.disconnect();
		await cluster.restart(index);
		// Back in haproxy's rotation (rise 2 × 1 s) before the next round.
		await new Promise((r) => setTimeout(r, 2500));
	}
} finally {
	for (const s of sockets) s.disconnect();
	await lb.stop();
	await Promise.allSettled(cluster.nodes.map((n) => n.stop()));
	store.disconnect();
	redisProcess.kill('SIGTERM');
}

const fmt = (xs: number[], p: number) => Math.round(percentile(xs, p));
console.log(`\nkill -9 of a room's node → clients back on the live node (through haproxy; cluster.nodeTtlMs ${ttl})\n`);
console.log('| round | killed | clients | connected p50 / max (ms) | joined p50 / max (ms) | chat lost | chat doubled |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
	console.log(
		`| ${r.round} | ${r.killed} | ${r.clients} | ${fmt(r.connectedMs, 50)} / ${Math.max(...r.connectedMs)} | ${fmt(r.joinedMs, 50)} / ${Math.max(...r.joinedMs)} | ${r.lost} | ${r.duplicated} |`,
	);
}
const all = results.flatMap((r) => r.joinedMs);
const summary = {
	joinedP50: fmt(all, 50),
	joinedP95: fmt(all, 95),
	joinedMax: Math.max(...all),
	lost: results.reduce((n, r) => n + r.lost, 0),
	duplicated: results.reduce((n, r) => n + r.duplicated, 0),
};
console.log(
	`\nall rounds: joined again p50 ${summary.joinedP50} ms, p95 ${summary.joinedP95} ms, max ${summary.joinedMax} ms; chat lost ${summary.lost}, doubled ${summary.duplicated}; load average ${os.loadavg()[0]!.toFixed(1)}`,
);
const out = path.join(import.meta.dirname, '..', 'results', 'cluster-failover.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), ttlMs: ttl, loadavg: os.loadavg(), rounds: results, summary }, null, 2));
console.log(`written to ${path.relative(process.cwd(), out)}`);
