/**
 * Drain in a cluster: two real nodes on one real redis-server behind haproxy (the shipped
 * deploy/haproxy.cfg). The room's node is drained (admin API, short grace): a new meeting
 * goes to the other node; the running meeting goes on until the grace period is over, then
 * its people are sent away, the room is released at once, and they come back by themselves
 * through haproxy on the other node, which now hosts the room.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';

import { connectThrough, startCluster, startHaproxy, type ClusterNode, type Haproxy } from '../../bench/lib/cluster.ts';
import { joinRoom, next, ok, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import { freePort } from '../../test/ports.ts';

let redis: Awaited<ReturnType<typeof redisForTests>>;
let nodes: ClusterNode[] = [];
let lb: Haproxy;
let store: Redis;
const sockets: TestClient[] = [];
const run = randomBytes(3).toString('hex');

before(async () => {
	redis = await redisForTests();
	nodes = await startCluster({ redisUrl: redis.url, env: { PARLEY_CLUSTER_HEARTBEAT_MS: '300', PARLEY_CLUSTER_NODE_TTL_MS: '1200' } });
	lb = await startHaproxy(nodes, await freePort());
	store = new Redis(redis.url);
});
after(async () => {
	for (const s of sockets) s.disconnect();
	store?.disconnect();
	await lb?.stop();
	await Promise.allSettled(nodes.map((n) => n.stop()));
	await redis?.stop();
});

it('a drained node gets no new meeting, ends its meetings after the grace period and they move to the other node', async () => {
	const room = `drain-${run}`;
	const token = (r: string, who: string) => nodes[0]!.token(r, who, { publish: true, subscribe: true });
	const ann = await connectThrough(lb.url, token(room, 'ann'));
	sockets.push(ann.socket);
	await joinRoom(ann.socket);
	await ok(ann.socket, 'chat:send', { id: 'drain-00001', text: 'before the drain' });
	const hostId = await store.get(`parley:room:{${room}}`);
	const host = nodes.find((n) => n.id === hostId)!;
	const other = nodes.find((n) => n !== host)!;
	assert.ok(host, `the room is hosted (${hostId})`);

	const ended = next(ann.socket, 'session:ended');
	const drain = await fetch(`${host.url}/admin/drain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graceMs: 2500 }) });
	assert.equal(drain.status, 200);
	// The registry says so within a heartbeat: a new meeting goes to the other node.
	await new Promise((r) => setTimeout(r, 800));
	const fresh = `drain-new-${run}`;
	const cid = await connectThrough(lb.url, token(fresh, 'cid'));
	sockets.push(cid.socket);
	assert.equal(await store.get(`parley:room:{${fresh}}`), other.id, 'a new meeting is placed on the node that is not draining');
	// The running meeting goes on during the grace period.
	await ok(ann.socket, 'chat:send', { id: 'drain-00002', text: 'during the grace period' });
	// Someone new joins it through haproxy (which routes nothing to the draining node): served by
	// the other node in a copy of the room linked to the draining host, not bounced between redirects.
	const dan = await connectThrough(lb.url, token(room, 'dan'), undefined, 5000);
	sockets.push(dan.socket);
	assert.equal(dan.redirects, 0, 'no wrong_node redirect to the draining node');
	const danJoined = await joinRoom(dan.socket);
	assert.deepEqual(danJoined.peers.map((p) => p.id), ['ann'], 'the newcomer is in the running meeting, with ann on the draining node');

	assert.equal((await ended).reason, 'server-shutdown');
	const endedAt = Date.now();
	ann.socket.disconnect();
	// Back as the browser does: through haproxy, still naming the old node first.
	const again = await connectThrough(lb.url, token(room, 'ann'), host.id, 15_000);
	sockets.push(again.socket);
	await joinRoom(again.socket);
	const backMs = Date.now() - endedAt;
	assert.equal(await store.get(`parley:room:{${room}}`), other.id, 'the room moved to the other node');
	const synced = await ok(again.socket, 'chat:sync', { afterSeq: 0 });
	assert.deepEqual(
		synced.messages.map((m) => m.id),
		['drain-00001', 'drain-00002'],
		'the chat history came along, nothing lost or doubled',
	);
	console.log(`# drain: session ended → joined again on the other node in ${backMs} ms (${again.redirects} wrong_node redirects: ${again.redirectedTo.join(', ') || 'none'})`);
	// The drained node released the room before sending people away, and claims none: nobody is
	// sent back to it. (Redirects to the live node are haproxy's view lagging: it routes by its
	// health checks, 1 s apart. On an idle machine there are none; with the unit tests run two at
	// a time up to 3 in 2.1 s were seen, all naming the live node. Before, the drained node claimed
	// the room, and its people bounced between the nodes, 4 redirects in 3.1 s, until its lease
	// went. This asserted no redirect at all.)
	assert.ok(!again.redirectedTo.includes(host.id), `no wrong_node back to the drained node (${again.redirectedTo.join(', ')})`);
	assert.ok(backMs < 8000, `back within 8 s (${backMs} ms)`);
});
