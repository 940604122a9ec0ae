/**
 * Real Parley nodes (`node signaling/main.ts`, one mediasoup worker each) on one real
 * redis-server, Socket.IO clients on both nodes:
 *   - without room placement: chat, receipts and typing cross the nodes (the Redis streams
 *     adapter); the node registry lists both; a node killed with kill -9 leaves it within its TTL;
 *   - with room placement: a room's connections all go to its host node (wrong_node
 *     redirects); the host killed with kill -9, the room is taken over by the live node and
 *     the clients are back there, with the chat history and their presence.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startParley, type ParleyServer } from '../../bench/lib/parleyServer.ts';
import { connectThrough, startCluster, startHaproxy, type ClusterNode, type Haproxy } from '../../bench/lib/cluster.ts';
import { connectClient, connectError, joinRoom, next, ok, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import type { NodeInfo } from './index.ts';
import { SignalingSession } from '../../client/src/media/SignalingSession.ts';
import { createManager } from '../../client/src/media/connection.ts';
import { freePort, randomMediaPort } from '../../test/ports.ts';

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
		mediaPort: randomMediaPort(),
		secret,
		env: {
			PARLEY_REDIS_URL: redis.url,
			PARLEY_CHAT_DURABILITY: 'process',
			PARLEY_CLUSTER_NODE_ID: `${id}-${run}`,
			PARLEY_CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS),
			PARLEY_CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS),
			PARLEY_PRESENCE_LEAVE_AFTER_MS: '1500',
			PARLEY_CLUSTER_PLACEMENT: 'false',
		},
	});
}

async function member(node: ParleyServer, room: string, identity: string, listen?: (socket: TestClient) => void): Promise<TestClient> {
	return connectClient(node.url, node.token(room, identity, { publish: true, subscribe: true }), false, clients, listen);
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

describe('two nodes on one Redis, no room placement', () => {
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

	it('keeps presence and the one-session-per-identity rule right across the nodes', async () => {
		const room = `p-${run}`;
		const ann = await member(a, room, 'ann');
		const ben = await member(b, room, 'ben');
		let snapshot: ReturnType<typeof next<'presence:snapshot'>> | undefined;
		await member(b, room, 'cid', (socket) => {
			snapshot = next(socket, 'presence:snapshot');
		});
		const { participants } = await snapshot!;
		const seen = Object.fromEntries(participants.map((p) => [p.identity, p.state]));
		assert.equal(seen.ann, 'online', 'a snapshot on node b shows who is on node a');
		assert.equal(seen.ben, 'online');

		// ann moves from node a to node b (a second tab there, then the first one closes): never shown away.
		const updates: string[] = [];
		ben.on('presence:update', (p) => p.identity === 'ann' && updates.push(p.state));
		const annOnB = await member(b, room, 'ann');
		ann.disconnect();
		await new Promise((r) => setTimeout(r, 2500)); // past presence.leaveAfterMs (1.5 s)
		assert.ok(!updates.includes('reconnecting') && !updates.includes('left'), `ann stayed online: ${updates.join()}`);

		// The same identity joining the media on the other node replaces its older session there.
		await joinRoom(annOnB);
		const replaced = next(annOnB, 'session:ended', (e) => e.reason === 'duplicate-identity');
		const annAgain = await member(a, room, 'ann');
		await joinRoom(annAgain);
		await replaced;
		const refusedAfter = updates.length;
		annAgain.disconnect();
		// Closed on purpose (a goodbye): left once the other node confirms ann is not there either.
		const gone = next(ben, 'presence:update', (p) => p.identity === 'ann' && p.state === 'left', 10_000);
		await gone;
		assert.ok(updates.length > refusedAfter, 'ann, gone from every node, is shown left');
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

describe('two nodes with room placement, behind haproxy (deploy/haproxy.cfg)', () => {
	let nodes: ClusterNode[] = [];
	let lb: Haproxy | undefined;
	let store: Redis;
	before(async () => {
		nodes = await startCluster({
			redisUrl: redis.url,
			ids: ['p', 'q'],
			env: {
				PARLEY_CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS),
				PARLEY_CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS),
				PARLEY_CLUSTER_ROOM_LEASE_MS: '3000',
				PARLEY_PRESENCE_LEAVE_AFTER_MS: '20000',
			},
		});
		lb = await startHaproxy(nodes, await freePort());
		store = new Redis(redis.url);
	});
	after(async () => {
		store?.disconnect();
		await lb?.stop();
		await Promise.allSettled(nodes.map((n) => n.stop()));
	});

	it('hosts a room on one node, sends its connections there, and moves it to the live node after kill -9', async () => {
		const room = `placed-${run}`;
		const token = (identity: string) => nodes[0]!.token(room, identity, { publish: true, subscribe: true }, identity === 'ann' ? 'host' : undefined);
		const url = lb!.url;
		const ann = await connectThrough(url, token('ann'));
		const ben = await connectThrough(url, token('ben'));
		clients.push(ann.socket, ben.socket);
		const hostId = await store.get(`parley:room:{${room}}`);
		const host = nodes.find((n) => n.id === hostId);
		const other = nodes.find((n) => n.id !== hostId)!;
		assert.ok(host, `the room is hosted by one of the nodes (${hostId})`);
		await joinRoom(ann.socket);
		const joined = await joinRoom(ben.socket);
		assert.deepEqual(joined.peers.map((x) => x.id), ['ann'], 'both in one SFU room: on the same node');
		const refused = await connectError(other.url, { token: token('cid') });
		assert.equal(refused.data?.code, 'wrong_node');
		assert.equal((refused.data as { node?: string } | undefined)?.node, hostId, 'the other node names the host');

		// The same identity again, through the balancer: it reaches the host, the older session ends.
		const replaced = next(ann.socket, 'session:ended', (e) => e.reason === 'duplicate-identity');
		const ann2 = await connectThrough(url, token('ann'));
		clients.push(ann2.socket);
		await joinRoom(ann2.socket);
		await replaced;

		// The browser's own signaling code (SignalingSession) through haproxy: the balancer sends it
		// to the node with fewer connections, which is not the host; it follows wrong_node.
		let eveConnects = 0;
		let eveBackAt = 0;
		const eveFailed: string[] = [];
		const eve = new SignalingSession({ token: token('eve'), manager: createManager(url) });
		const eveIn = new Promise<void>((resolve) =>
			eve.start({
				connected: (first) => {
					eveConnects++;
					if (!first) eveBackAt = Date.now();
					resolve();
				},
				reconnecting: () => {},
				restartMedia: () => {},
				failed: (error) => eveFailed.push(error.message),
			}),
		);
		await eveIn;
		assert.equal((eve.socket.io.opts.query as Record<string, string> | undefined)?.node, hostId, 'the browser client followed wrong_node');

		const toBen = next(ben.socket, 'chat:message');
		const before = await ok(ann2.socket, 'chat:send', { id: 'placed-0001', text: 'before the crash' });
		await toBen;
		// The host makes ben a co-host and locks the meeting: that state must follow the room.
		await ok(ann2.socket, 'host:setRole', { identity: 'ben', role: 'cohost' });
		await ok(ann2.socket, 'host:settings', { locked: true });
		await new Promise((r) => setTimeout(r, 200)); // written to Redis behind the answers

		const killedAt = Date.now();
		await host!.kill();
		const back = await Promise.all(
			(
				[
					['ann', ann2.socket],
					['ben', ben.socket],
				] as const
			).map(async ([identity, old]) => {
				old.disconnect();
				const again = await connectThrough(url, token(identity), hostId!);
				clients.push(again.socket);
				const join = await joinRoom(again.socket);
				return { ...again, join, joinedAfter: Date.now() - killedAt };
			}),
		);
		const worst = Math.max(...back.map((b) => b.joinedAfter));
		process.stderr.write(
			`# kill -9 of the room's node → both clients joined again through haproxy: ${back.map((b) => b.joinedAfter).join(', ')} ms\n`,
		);
		assert.equal(await store.get(`parley:room:{${room}}`), other.id, 'the live node hosts the room now');
		assert.ok(worst < NODE_TTL_MS + 6000, `back after ${worst} ms`);
		// Joined at the same moment: at least one of the two sees the other (one SFU room, on the live node).
		assert.ok(back.reduce((n, b) => n + b.join.peers.length, 0) >= 1, 'both in one SFU room on the live node');

		const deadline = Date.now() + 10_000;
		while (eveConnects < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		process.stderr.write(`# the browser's SignalingSession reconnected by itself ${eveBackAt - killedAt} ms after the kill\n`);
		assert.equal(eveConnects, 2, `the browser client came back by itself (${eveFailed.join('; ')})`);
		eve.close();
		const [annBack, benBack] = back.map((b) => b.socket) as [TestClient, TestClient];
		const synced = await ok(benBack, 'chat:sync', { afterSeq: 0 });
		assert.deepEqual(synced.messages.map((m) => m.id), [before.message.id], 'the chat history is intact (Redis)');
		const toAnn = next(annBack, 'chat:message');
		const after = await ok(benBack, 'chat:send', { id: 'placed-0002', text: 'after the crash' });
		assert.equal((await toAnn).seq, after.message.seq);
		assert.equal(after.message.seq, before.message.seq + 1, 'no message lost or doubled');
		const stateAfter = next(benBack, 'meeting:state', (m) => m.hands.some((h) => h.identity === 'ben'));
		await ok(benBack, 'hand:raise', {});
		const meeting = await stateAfter;
		assert.equal(meeting.settings.locked, true, 'the lock followed the room');
		assert.equal(meeting.members.find((m) => m.identity === 'ben')?.role, 'cohost', 'the co-host role followed the room');
		const locked = await connectThrough(url, token('dan')).then(
			() => 'connected',
			(error: Error & { data?: { code?: string } }) => error.data?.code,
		);
		assert.equal(locked, 'room_locked', 'a newcomer is refused by the locked meeting on the new node');
		// The host may still enter the locked meeting: a second tab of ann's reads the presence.
		// Listening from before the connection opens: the snapshot is sent at once.
		let snapshot: ReturnType<typeof next<'presence:snapshot'>> | undefined;
		await connectClient(other.url, token('ann'), false, clients, (socket) => {
			snapshot = next(socket, 'presence:snapshot');
		});
		const { participants } = await snapshot!;
		const state = Object.fromEntries(participants.map((x) => [x.identity, x.state]));
		assert.equal(state.ann, 'online');
		assert.equal(state.ben, 'online');
	});
});
