/**
 * A room bigger than one node: two real Parley nodes (`node signaling/main.ts`, one mediasoup
 * worker each) on one real redis-server, with `cluster.roomSpreadPeers` = 1. The first
 * participant's join places the room on node A; the second connects to node B, which serves
 * it with its own copy of the room linked to A's (mediasoup PipeTransports over UDP, SRTP).
 * Two bots publish and receive over real WebRTC (werift): video and audio flow both ways
 * across the link; closes cross it; when B's last participant leaves, the link closes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type ClusterNode } from '../../bench/lib/cluster.ts';
import { Bot } from '../../bench/bot/bot.ts';
import { loadMedia } from '../../bench/bot/media.ts';
import { ParleyConnector } from '../../bench/bot/parley.ts';
import { connectClient, connectError, joinRoom, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import type { NodeInfo } from './index.ts';

const run = randomBytes(3).toString('hex');
let redis: Awaited<ReturnType<typeof redisForTests>>;
let nodes: ClusterNode[] = [];
let store: Redis;
const bots: Bot[] = [];
const clients: TestClient[] = [];

before(async () => {
	await loadMedia();
	redis = await redisForTests();
	nodes = await startCluster({
		redisUrl: redis.url,
		ids: ['sa', 'sb'],
		env: {
			PARLEY_CLUSTER_HEARTBEAT_MS: '300',
			PARLEY_CLUSTER_NODE_TTL_MS: '1200',
			PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1',
		},
	});
	store = new Redis(redis.url);
});
after(async () => {
	for (const c of clients) c.disconnect();
	await Promise.allSettled(bots.map((b) => b.close()));
	store?.disconnect();
	await Promise.allSettled(nodes.map((n) => n.stop()));
	await redis?.stop();
});

function bot(node: ClusterNode, room: string, identity: string): Bot {
	const connector = new ParleyConnector({ url: node.url, token: (r, id, grants) => node.token(r, id, grants) });
	const b = new Bot({ connector, room, identity, publish: { video: 'single', audio: true }, subscribe: true });
	bots.push(b);
	return b;
}

async function links(node: ClusterNode): Promise<number> {
	const body = (await (await fetch(`${node.url}/admin/nodes`)).json()) as { nodes: NodeInfo[] };
	return body.nodes.find((n) => n.id === node.id)?.load.links ?? -1;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

it('spreads a room to a second node past its limit; media flows both ways over the link; the link closes with the last one there', { timeout: 60_000 }, async () => {
	const [a, b] = nodes as [ClusterNode, ClusterNode];
	const room = `span-${run}`;
	const ann = bot(a, room, 'ann');
	await ann.start();
	assert.equal(await store.get(`parley:room:{${room}}`), a.id, 'the room is hosted by node A');

	// A full host (1 participant): node B does not redirect the next one, it serves a copy.
	const ben = bot(b, room, 'ben');
	await ben.start();
	await Promise.all([ann.connected(), ben.connected()]);
	assert.equal(await store.get(`parley:room:{${room}}`), a.id, 'still hosted by A (B holds no lease)');
	assert.deepEqual(await store.hgetall(`parley:roomnodes:{${room}}`), { [a.id]: '1', [b.id]: '1' }, 'one participant on each node');

	// Both ways: ann (on A) receives ben's media (pushed B → A), ben (on B) receives ann's (pulled A → B).
	await until('media both ways', async () => {
		const [toAnn, toBen] = [ann.received(), ben.received()];
		return toAnn.video.packets > 150 && toAnn.audio.packets > 50 && toBen.video.packets > 150 && toBen.audio.packets > 50;
	}, 15_000);
	for (const [who, got] of [['ann', ann.received()], ['ben', ben.received()]] as const) {
		assert.equal(got.streams, 2, `${who}: one video and one audio stream`);
		assert.ok(got.video.keyframes >= 1, `${who}: a keyframe crossed`);
		assert.ok(got.video.lost <= got.video.expected * 0.05, `${who}: video loss ${got.video.lost}/${got.video.expected}`);
	}
	await until('one link on each node', async () => (await links(a)) === 1 && (await links(b)) === 1, 3000);

	// A connection that reaches the host is served there, over the limit (the limit is soft): it sees
	// the people on both nodes.
	const third = await connectClient(a.url, a.token(room, 'cid', { publish: true, subscribe: true }), false, clients);
	const joined = await joinRoom(third);
	assert.deepEqual(joined.peers.map((p) => p.id).sort(), ['ann', 'ben'], 'a newcomer on the host sees the people on both nodes');
	third.disconnect();

	// A node that does not host the room and is full sends a connection to the host.
	const refused = await connectError(b.url, { token: b.token(room, 'dan', { publish: true, subscribe: true }) });
	assert.equal(refused.data?.code, 'wrong_node');

	// Still flowing (a newcomer on the host changed nothing for them).
	const p0 = ann.received().video.packets;
	await new Promise((r) => setTimeout(r, 1000));
	assert.ok(ann.received().video.packets - p0 > 20, `ann still receives ben's video (${ann.received().video.packets - p0} packets in 1 s)`);

	// ben leaves node B: its copy's link closes on both sides, and ann's consumers of ben's media end.
	await ben.close();
	await until('the link closed on both nodes', async () => (await links(a)) === 0 && (await links(b)) === 0, 8000);
	await new Promise((r) => setTimeout(r, 500));
	const settled = ann.received().video.packets;
	await new Promise((r) => setTimeout(r, 1000));
	assert.ok(ann.received().video.packets - settled < 5, 'no media from ben after he left');
});
