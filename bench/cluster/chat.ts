/**
 * Chat delivery across nodes: two Parley nodes on one Redis (room placement off, so the
 * participants of one room stay on the node they reached and every message crosses the
 * Socket.IO Redis streams adapter). `--senders` participants on node A send chat messages
 * (within the per-identity flood limit), one receiver on node A and one on node B time each
 * message from `chat:send` to its `chat:message`. Also counts lost and doubled messages at
 * the receivers.
 *
 *   node bench/cluster/chat.ts [--messages=300] [--senders=4] [--rate=4]
 *
 * Ports (this developer's range): nodes 4346-4347, media 30347-30348, Redis 6446; override
 * with --http-base, --media-base, --redis-port. Prints a table and writes
 * bench/results/cluster-chat.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from '../lib/cluster.ts';
import { percentile } from '../lib/proc.ts';
import { connectClient, ok, type TestClient } from '../../test/harness.ts';
import { startRedisOnce } from '../../test/redis.ts';

const { values } = parseArgs({
	options: {
		messages: { type: 'string', default: '300' },
		senders: { type: 'string', default: '4' },
		rate: { type: 'string', default: '4' },
		'http-base': { type: 'string', default: '4346' },
		'media-base': { type: 'string', default: '30347' },
		'redis-port': { type: 'string', default: '6446' },
	},
});
const total = Number(values.messages);
const senderCount = Number(values.senders);
const ratePerSender = Number(values.rate);

const redisProcess = await startRedisOnce(Number(values['redis-port']));
const redisUrl = `redis://127.0.0.1:${values['redis-port']}`;
const nodes = await startCluster({
	redisUrl,
	ids: ['chat-a', 'chat-b'],
	httpBasePort: Number(values['http-base']),
	mediaBasePort: Number(values['media-base']),
	env: { PARLEY_CLUSTER_PLACEMENT: 'false', PARLEY_LOG_LEVEL: 'warn' },
});
const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
const sockets: TestClient[] = [];
const room = `chat-${Date.now().toString(36)}`;
const token = (node: typeof a, identity: string) => node.token(room, identity, { publish: true, subscribe: true });
const sentAt = new Map<string, number>();
const arrivals = { same: new Map<string, number[]>(), cross: new Map<string, number[]>() };
let result: Record<string, unknown> = {};
try {
	const listen = (where: 'same' | 'cross') => (socket: TestClient) =>
		socket.on('chat:message', (m) => {
			const list = arrivals[where].get(m.id) ?? [];
			list.push(performance.now());
			arrivals[where].set(m.id, list);
		});
	await connectClient(a.url, token(a, 'rx-a'), false, sockets, listen('same'));
	await connectClient(b.url, token(b, 'rx-b'), false, sockets, listen('cross'));
	const senders = await Promise.all(Array.from({ length: senderCount }, (_, i) => connectClient(a.url, token(a, `tx${i}`), false, sockets)));
	await new Promise((r) => setTimeout(r, 500));
	const perSender = Math.ceil(total / senderCount);
	await Promise.all(
		senders.map(async (s, i) => {
			for (let n = 0; n < perSender; n++) {
				const id = `m-${i}-${String(n).padStart(6, '0')}`;
				sentAt.set(id, performance.now());
				await ok(s, 'chat:send', { id, text: `message ${n} from ${i}` });
				await new Promise((r) => setTimeout(r, 1000 / ratePerSender));
			}
		}),
	);
	await new Promise((r) => setTimeout(r, 2000));
	const latencies = (where: 'same' | 'cross') => [...sentAt].flatMap(([id, t]) => (arrivals[where].get(id)?.[0] !== undefined ? [arrivals[where].get(id)![0]! - t] : []));
	const count = (where: 'same' | 'cross') => ({
		lost: [...sentAt.keys()].filter((id) => !arrivals[where].has(id)).length,
		doubled: [...arrivals[where].values()].filter((l) => l.length > 1).length,
	});
	const stats = (xs: number[]) => ({ n: xs.length, p50: Math.round(percentile(xs, 50) * 10) / 10, p99: Math.round(percentile(xs, 99) * 10) / 10, max: Math.round(Math.max(...xs) * 10) / 10 });
	result = {
		at: new Date().toISOString(),
		loadavg: os.loadavg(),
		messages: sentAt.size,
		sameNode: { ...stats(latencies('same')), ...count('same') },
		crossNode: { ...stats(latencies('cross')), ...count('cross') },
	};
} finally {
	for (const s of sockets) s.disconnect();
	await Promise.allSettled(nodes.map((n) => n.stop()));
	redisProcess.kill('SIGTERM');
}
const same = result.sameNode as { n: number; p50: number; p99: number; max: number; lost: number; doubled: number };
const cross = result.crossNode as typeof same;
console.log(`\nchat delivery, chat:send → chat:message (${result.messages} messages, ${senderCount} senders on node A; load ${os.loadavg()[0]!.toFixed(1)})\n`);
console.log('| receiver | n | p50 ms | p99 ms | max ms | lost | doubled |');
console.log('|---|---|---|---|---|---|---|');
console.log(`| on node A (same node) | ${same.n} | ${same.p50} | ${same.p99} | ${same.max} | ${same.lost} | ${same.doubled} |`);
console.log(`| on node B (across nodes) | ${cross.n} | ${cross.p50} | ${cross.p99} | ${cross.max} | ${cross.lost} | ${cross.doubled} |`);
const out = path.join(import.meta.dirname, '..', 'results', 'cluster-chat.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2));
console.log(`written to ${path.relative(process.cwd(), out)}`);
