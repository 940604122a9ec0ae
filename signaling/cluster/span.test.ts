/**
 * A room bigger than one node: three real Parley nodes (`node signaling/main.ts`, one mediasoup
 * worker each) on one real redis-server, with `cluster.roomSpreadPeers` = 1. The first
 * participant's join places the room on node A; the second connects to node B and the third
 * to node C, each of which serves it with its own copy of the room linked to A's (mediasoup
 * PipeTransports over UDP, SRTP): a star around the host. Bots publish and receive over real
 * WebRTC (werift): video and audio flow both ways across each link, and from B to C through A;
 * a participant leaving closes its node's link, and its media's copies on the other nodes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type ClusterNode } from '../../bench/lib/cluster.ts';
import { Bot } from '../../bench/bot/bot.ts';
import { loadMedia } from '../../bench/bot/media.ts';
import { ParleyConnector } from '../../bench/bot/parley.ts';
import { connectClient, connectError, joinRoom, next, type TestClient } from '../../test/harness.ts';
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
		ids: ['sa', 'sb', 'sc'],
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

async function load(node: ClusterNode): Promise<{ links: number; piped: number; rooms: number }> {
	const body = (await (await fetch(`${node.url}/admin/nodes`)).json()) as { nodes: NodeInfo[] };
	const mine = body.nodes.find((n) => n.id === node.id)?.load;
	return { links: mine?.links ?? -1, piped: mine?.piped ?? -1, rooms: mine?.rooms ?? -1 };
}

async function links(node: ClusterNode): Promise<number> {
	return (await load(node)).links;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

it('spreads a room over three nodes past its limit; media flows both ways over each link and between the copies through the host; a node leaving closes its links; the host dying ends its copies', { timeout: 90_000 }, async () => {
	const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
	const room = `span-${run}`;
	const ann = bot(a, room, 'ann');
	await ann.start();
	assert.equal(await store.get(`parley:room:{${room}}`), a.id, 'the room is hosted by node A');

	// A full host (1 participant): node B does not redirect the next one, it serves a copy; then C.
	const ben = bot(b, room, 'ben');
	await ben.start();
	const cid = bot(c, room, 'cid');
	await cid.start();
	await Promise.all([ann.connected(), ben.connected(), cid.connected()]);
	assert.equal(await store.get(`parley:room:{${room}}`), a.id, 'still hosted by A (the copies hold no lease)');
	assert.deepEqual(await store.hgetall(`parley:roomnodes:{${room}}`), { [a.id]: '1', [b.id]: '1', [c.id]: '1' }, 'one participant on each node');

	// Everyone receives both others: A ↔ B and A ↔ C over the links, B ↔ C through A.
	const everyone = [ann, ben, cid];
	await until('media from both others at each bot', async () => everyone.every((x) => x.received().streams === 4 && x.received().video.packets > 300 && x.received().audio.packets > 100), 20_000);
	for (const x of everyone) {
		const got = x.received();
		assert.ok(got.video.keyframes >= 2, `${x.identity}: keyframes of both videos crossed (${got.video.keyframes})`);
		assert.ok(got.video.lost <= got.video.expected * 0.05, `${x.identity}: video loss ${got.video.lost}/${got.video.expected}`);
	}
	// The host has a link to each copy; each copy sends its 2 streams and receives the 4 of the others.
	await until('links and piped streams', async () => {
		const [la, lb, lc] = await Promise.all([load(a), load(b), load(c)]);
		return la.links === 2 && lb.links === 1 && lc.links === 1 && lb.piped === 6 && lc.piped === 6 && la.piped === 12;
	}, 5000);

	// A connection that reaches the host is served there, over the limit (the limit is soft): it sees
	// the people on every node.
	const dan = await connectClient(a.url, a.token(room, 'dan', { publish: true, subscribe: true }), false, clients);
	const joined = await joinRoom(dan);
	assert.deepEqual(joined.peers.map((p) => p.id).sort(), ['ann', 'ben', 'cid'], 'a newcomer on the host sees the people on every node');
	// A node that does not host the room and is full sends a connection to the host.
	const refused = await connectError(b.url, { token: b.token(room, 'eve', { publish: true, subscribe: true }) });
	assert.equal(refused.data?.code, 'wrong_node');

	// Still flowing (a newcomer on the host changed nothing for them).
	const p0 = ann.received().video.packets;
	await new Promise((r) => setTimeout(r, 1000));
	assert.ok(ann.received().video.packets - p0 > 20, `ann still receives (${ann.received().video.packets - p0} video packets in 1 s)`);

	// Node C is killed (kill -9): once it is gone from the registry the host closes its link; the
	// host's copies of cid's producers close, and with them B's (relayed closes): B and A now each
	// send 2 and receive 2; the people on the host are told cid left.
	const cidLeft = next(dan, 'peer:left', (p) => p.peerId === 'cid', 8000);
	await c.kill();
	let seen = '';
	await until('C unlinked, cid\'s media gone from B', async () => {
		const [la, lb] = await Promise.all([load(a), load(b)]);
		seen = JSON.stringify({ la, lb });
		return la.links === 1 && lb.piped === 4 && la.piped === 4;
	}, 8000).catch((error: unknown) => assert.fail(`${String(error)}: ${seen}`));
	await cidLeft;
	dan.disconnect();

	// ben leaves node B: its link closes on both sides, and ann's consumers of ben's media end.
	await ben.close();
	await until('the link closed on both nodes', async () => (await links(a)) === 0 && (await links(b)) === 0, 8000);
	await new Promise((r) => setTimeout(r, 500));
	const settled = ann.received().video.packets;
	await new Promise((r) => setTimeout(r, 1000));
	assert.ok(ann.received().video.packets - settled < 5, 'no media from the others after they left');

	// The host dies (kill -9) with a copy linked to it: the copy sends its people away (their
	// clients connect again and are placed anew) and closes.
	const eve = bot(b, room, 'eve');
	await eve.start();
	await until('B serves a copy linked to A again', async () => (await load(b)).links === 1, 5000);
	await a.kill();
	await until('B closed its copy once A was gone', async () => {
		const lb = await load(b);
		return lb.links === 0 && lb.rooms === 0;
	}, 8000);
});
