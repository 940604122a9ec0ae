/**
 * Two real Parley nodes (`node signaling/main.ts`, one mediasoup worker each) on one real
 * redis-server, Socket.IO clients on both: chat, receipts, typing and presence cross the
 * nodes (the Redis streams adapter), the node registry lists both, and a node killed with
 * kill -9 leaves it within its TTL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startParley, type ParleyServer } from '../../bench/lib/parleyServer.ts';
import { connectClient, next, ok, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import type { NodeInfo } from './index.ts';

const HEARTBEAT_MS = 300;
const NODE_TTL_MS = 1200;
const run = randomBytes(3).toString('hex');
const secret = randomBytes(24).toString('hex');
let redis: Awaited<ReturnType<typeof redisForTests>>;
let a: ParleyServer;
let b: ParleyServer;
const clients: TestClient[] = [];

function startNode(id: string): Promise<ParleyServer> {
	return startParley({
		mediaPort: 20000 + Math.floor(Math.random() * 20000),
		secret,
		env: {
			PARLEY_REDIS_URL: redis.url,
			PARLEY_CHAT_DURABILITY: 'process',
			PARLEY_CLUSTER_NODE_ID: `${id}-${run}`,
			PARLEY_CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS),
			PARLEY_CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS),
			PARLEY_PRESENCE_LEAVE_AFTER_MS: '1500',
		},
	});
}

async function member(node: ParleyServer, room: string, identity: string): Promise<TestClient> {
	return connectClient(node.url, node.token(room, identity, { publish: true, subscribe: true }), false, clients);
}

async function nodes(node: ParleyServer): Promise<NodeInfo[]> {
	const body = (await (await fetch(`${node.url}/admin/nodes`)).json()) as { nodes: NodeInfo[] };
	return body.nodes.filter((n) => n.id.endsWith(run));
}

before(async () => {
	redis = await redisForTests();
	[a, b] = await Promise.all([startNode('a'), startNode('b')]);
});
after(async () => {
	for (const c of clients) c.disconnect();
	await Promise.allSettled([a?.stop(), b?.stop()]);
	await redis?.stop();
});

describe('two nodes on one Redis', () => {
	it('carries chat, receipts and typing between participants on different nodes', async () => {
		const room = `x-${run}`;
		const ann = await member(a, room, 'ann');
		const ben = await member(b, room, 'ben');
		const toBen = next(ben, 'chat:message');
		const sent = await ok(ann, 'chat:send', { id: 'cluster-0001', text: 'from node a' });
		assert.deepEqual(await toBen, sent.message);
		const toAnn = next(ann, 'chat:message');
		const reply = await ok(ben, 'chat:send', { id: 'cluster-0002', text: 'from node b' });
		assert.deepEqual(await toAnn, reply.message);
		assert.equal(reply.message.seq, sent.message.seq + 1, 'one sequence per room across the nodes (one store)');

		const receipt = next(ann, 'chat:watermarks', (w) => w.marks.some((m) => m.identity === 'ben' && m.deliveredUpTo === sent.message.seq));
		await ok(ben, 'chat:delivered', { upToSeq: sent.message.seq });
		await receipt;
		const typing = next(ann, 'chat:typing', (t) => t.identity === 'ben');
		await ok(ben, 'chat:typing', { typing: true });
		assert.equal((await typing).typing, true);

		const direct = next(ben, 'chat:message', (m) => m.to === 'ben');
		await ok(ann, 'chat:send', { id: 'cluster-0003', text: 'psst', to: 'ben' });
		assert.equal((await direct).text, 'psst');
	});

	it('lists both nodes in the registry; a node killed with kill -9 is gone within its TTL', async () => {
		const listed = await nodes(a);
		assert.deepEqual(listed.map((n) => n.id), [`a-${run}`, `b-${run}`]);
		for (const n of listed) {
			assert.match(n.url, /^http:\/\//);
			assert.equal(n.mediaAddress, '127.0.0.1');
			assert.equal(n.mediaPorts.length, 1);
			assert.equal(typeof n.load.peers, 'number');
			assert.ok(Date.now() - n.heartbeatAt < NODE_TTL_MS);
		}
		const killedAt = Date.now();
		await b.kill();
		let goneAfter = Infinity;
		while (Date.now() - killedAt < 10_000) {
			if (!(await nodes(a)).some((n) => n.id === `b-${run}`)) {
				goneAfter = Date.now() - killedAt;
				break;
			}
			await new Promise((r) => setTimeout(r, 50));
		}
		process.stderr.write(`# node gone from the registry ${goneAfter} ms after kill -9 (TTL ${NODE_TTL_MS} ms)\n`);
		assert.ok(goneAfter <= NODE_TTL_MS + 1000, `gone after ${goneAfter} ms`);
	});
});
