/**
 * Host controls across nodes: two real Parley nodes on one real redis-server with
 * `cluster.roomSpreadPeers` = 1. The host joins on node A (the room's host node); the target
 * is served by node B (a copy of the room). The host mutes all, then mutes, then removes the
 * target: each goes to node B (cascade bus `moderate`) and is carried out there as a local
 * one (the producer pauses, the target is told, it is gone from the room on both nodes and
 * cannot come back with its token). A participant's attempt is forbidden; an unknown identity
 * is not_found; a host served by B cannot be removed; B refuses a request from a node outside
 * the room.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type ClusterNode } from '../../bench/lib/cluster.ts';
import { connectClient, connectError, joinRoom, next, ok, request, syntheticRtpParameters, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import type { NodeInfo } from './index.ts';

const run = randomBytes(3).toString('hex');
let redis: Awaited<ReturnType<typeof redisForTests>>;
let nodes: ClusterNode[] = [];
let store: Redis;
const clients: TestClient[] = [];

before(async () => {
	redis = await redisForTests();
	nodes = await startCluster({
		redisUrl: redis.url,
		ids: ['ma', 'mb'],
		env: { PARLEY_CLUSTER_HEARTBEAT_MS: '300', PARLEY_CLUSTER_NODE_TTL_MS: '1200', PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1' },
	});
	store = new Redis(redis.url);
});
after(async () => {
	for (const c of clients) c.disconnect();
	store?.disconnect();
	await Promise.allSettled(nodes.map((n) => n.stop()));
	await redis?.stop();
});

/** Participants in the node's media rooms (its own count in the registry). */
async function peers(node: ClusterNode): Promise<number> {
	const body = (await (await fetch(`${node.url}/admin/nodes`)).json()) as { nodes: NodeInfo[] };
	return body.nodes.find((n) => n.id === node.id)?.load.peers ?? -1;
}

function code(result: { ok: boolean; error?: { code: string } }): string | undefined {
	return result.ok ? undefined : result.error?.code;
}

it('a host on the host node mutes and removes a participant served by another node; a participant cannot', { timeout: 60_000 }, async () => {
	const [a, b] = nodes as [ClusterNode, ClusterNode];
	const room = `mod-${run}`;
	const grants = { publish: true, subscribe: true };
	const host = await connectClient(a.url, a.token(room, 'hal', grants, 'host'), false, clients);
	await joinRoom(host);
	assert.equal(await store.get(`parley:room:{${room}}`), a.id, 'the room is hosted by node A');

	// The host node is full (1 participant): node B serves the target in a copy of the room.
	const tokenB = b.token(room, 'tim', grants);
	const tim = await connectClient(b.url, tokenB, false, clients);
	await joinRoom(tim);
	const announced = next(host, 'producer:new', (p) => p.peerId === 'tim', 8000);
	const send = await ok(tim, 'media:createTransport', { direction: 'send' });
	const { producerId } = await ok(tim, 'media:produce', { transportId: send.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 4101), source: 'microphone' });
	await announced;
	assert.deepEqual(await store.hgetall(`parley:roomnodes:{${room}}`), { [a.id]: '1', [b.id]: '1' }, 'one participant on each node');

	// A participant (served by the host node, over its soft limit) may not.
	const pat = await connectClient(a.url, a.token(room, 'pat', grants), false, clients);
	assert.equal(code(await request(pat, 'host:mute', { identity: 'tim', source: 'microphone' })), 'forbidden');
	assert.equal(code(await request(pat, 'host:remove', { identity: 'tim' })), 'forbidden');
	assert.equal(code(await request(host, 'host:mute', { identity: 'nobody', source: 'microphone' })), 'not_found', 'nobody has that identity on any node');

	// The bus is internal, yet node B takes host controls only from a node of the room, and well-formed.
	const ask = async (body: unknown): Promise<{ ok: boolean; error?: string }> => {
		const sub = store.duplicate();
		await sub.subscribe('parley:cascade:intruder');
		const reply = new Promise<{ ok: boolean; error?: string }>((resolve) =>
			sub.once('message', (_c: string, raw: string) => {
				const { ok: done, error } = JSON.parse(raw) as { ok: boolean; error?: string };
				resolve({ ok: done, error });
			}),
		);
		await store.publish(`parley:cascade:${b.id}`, JSON.stringify({ type: 'request', id: randomBytes(4).toString('hex'), from: 'intruder', method: 'moderate', body }));
		const answer = await reply;
		sub.disconnect();
		return answer;
	};
	assert.deepEqual(await ask({ action: 'remove', room, identity: 'tim', by: 'x' }), { ok: false, error: 'not a node of this room' });
	assert.deepEqual(await ask({ action: 'kick', room, identity: 'tim' }), { ok: false, error: 'bad_request' });
	assert.deepEqual(await ask({ action: 'mute', room, identity: 'tim', source: 'speakers', by: 'x' }), { ok: false, error: 'bad_request' });

	// Mute all: node B pauses tim's microphone; tim is told; the host sees it paused.
	let told = next(tim, 'moderation:notice', (n) => n.kind === 'muted', 5000);
	let paused = next(host, 'producer:paused', (p) => p.producerId === producerId, 5000);
	assert.deepEqual(await ok(host, 'host:muteAll', {}), { affected: 1 });
	assert.deepEqual(await told, { kind: 'muted', source: 'microphone', by: 'hal', mayUnmute: true });
	await paused;

	// tim turns it on again (allowed by default); the host mutes tim alone.
	await ok(tim, 'media:resumeProducer', { producerId });
	told = next(tim, 'moderation:notice', (n) => n.kind === 'muted', 5000);
	paused = next(host, 'producer:paused', (p) => p.producerId === producerId, 5000);
	assert.deepEqual(await ok(host, 'host:mute', { identity: 'tim', source: 'microphone' }), { affected: 1 });
	await told;
	await paused;

	// Removed: tim is told and disconnected, gone from the room on both nodes, and cannot come back.
	const ended = next(tim, 'session:ended', () => true, 5000);
	const left = next(host, 'peer:left', (p) => p.peerId === 'tim', 5000);
	assert.deepEqual(await ok(host, 'host:remove', { identity: 'tim' }), {});
	assert.deepEqual(await ended, { reason: 'removed' });
	await left;
	const deadline = Date.now() + 5000;
	while ((await peers(b)) !== 0 || (await store.hexists(`parley:roomnodes:{${room}}`, b.id)) === 1) {
		assert.ok(Date.now() < deadline, 'tim left node B\'s copy of the room');
		await new Promise((r) => setTimeout(r, 100));
	}
	const refused = await connectError(b.url, { token: tokenB });
	assert.match(refused.message, /removed/);
	assert.equal(code(await request(host, 'host:mute', { identity: 'tim', source: 'microphone' })), 'not_found', 'tim is in no node\'s meeting');

	// A host served by node B cannot be removed by the host on A (as on one node): B refuses.
	const hoa = await connectClient(b.url, b.token(room, 'hoa', grants, 'host'), false, clients);
	await joinRoom(hoa);
	assert.equal(code(await request(host, 'host:remove', { identity: 'hoa' })), 'forbidden');
	assert.ok(hoa.connected, 'the other host is still there');
});

it("a copy of a spanning room follows the host's meeting record and never overwrites it: the lock survives a hand raised on the copy and holds for a newcomer there", { timeout: 60_000 }, async () => {
	const room = `rec-${run}`;
	const grants = { publish: true, subscribe: true };
	// The room goes to the least loaded node (the first test left people on A): follow wrong_node.
	let [a, b] = nodes as [ClusterNode, ClusterNode];
	const enter = (node: ClusterNode) => connectClient(node.url, node.token(room, 'hal', grants, 'host'), false, clients);
	const host = await enter(a).catch(async (error: { data?: { code?: string } }) => {
		if (error.data?.code !== 'wrong_node') throw error;
		[a, b] = [b, a];
		return enter(a);
	});
	await joinRoom(host);
	const vic = await connectClient(b.url, b.token(room, 'vic', grants), false, clients);
	await joinRoom(vic);
	assert.deepEqual(await store.hgetall(`parley:roomnodes:{${room}}`), { [a.id]: '1', [b.id]: '1' }, 'one participant on each node');
	const record = async () => JSON.parse((await store.get(`parley:meeting:{${room}}`)) ?? 'null') as { settings: { locked: boolean }; hands: unknown[] } | null;
	await ok(host, 'host:settings', { locked: true });
	const deadline = Date.now() + 3000;
	while (!(await record())?.settings.locked) {
		assert.ok(Date.now() < deadline, 'the host node saved the lock');
		await new Promise((r) => setTimeout(r, 50));
	}
	// A change in node B's copy of the meeting (its own in-memory state): not written over the host's record.
	await ok(vic, 'hand:raise', {});
	await new Promise((r) => setTimeout(r, 500));
	assert.equal((await record())?.settings.locked, true, 'the lock is still in the record');
	// vic leaves: node B has room again and its copy's meeting stays (unlocked, as it was when it
	// opened). A newcomer placed there is refused as by the host's meeting: the copy follows the lock.
	vic.disconnect();
	const gone = Date.now() + 5000;
	while ((await store.hexists(`parley:roomnodes:{${room}}`, b.id)) === 1) {
		assert.ok(Date.now() < gone, "vic left node B's copy");
		await new Promise((r) => setTimeout(r, 50));
	}
	const refused = await connectError(b.url, { token: b.token(room, 'neo', grants) });
	assert.equal((refused.data as { code?: string } | undefined)?.code, 'room_locked', `refused on node B: ${refused.message}`);
});
