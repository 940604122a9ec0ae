/**
 * One meeting for a room spanning nodes: two real Parley nodes on one real redis-server with
 * `cluster.roomSpreadPeers` = 1. The host joins the media on node A (the room's host node); the
 * people connecting to node B are served by B's copy of the room. Each test covers one thing
 * that was per node before (cluster/SpanMeetings): roles, the waiting room, raised hands and
 * ask-to-unmute, ending the meeting; and a copy that outlives its host's room follows the
 * room's next host node (its producers pushed there).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type ClusterNode } from '../../bench/lib/cluster.ts';
import { spanPeople } from '../../test/spanPeople.ts';
import { joinRoom, ok, request, syntheticRtpParameters, type TestClient } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';

const run = randomBytes(3).toString('hex');
let redis: Awaited<ReturnType<typeof redisForTests>>;
let nodes: ClusterNode[] = [];
let store: Redis;
const clients: TestClient[] = [];

before(async () => {
	redis = await redisForTests();
	nodes = await startCluster({
		redisUrl: redis.url,
		ids: ['wa', 'wb'],
		env: { PARLEY_CLUSTER_HEARTBEAT_MS: '500', PARLEY_CLUSTER_NODE_TTL_MS: '3000', PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1' },
	});
	store = new Redis(redis.url);
});
after(async () => {
	for (const c of clients) c.disconnect();
	store?.disconnect();
	await Promise.allSettled(nodes.map((n) => n.stop()));
	await redis?.stop();
});

const { person, until, got, meetingOnA } = spanPeople({ nodes: () => nodes, store: () => store, clients, waitMs: 5000 });


/** A request on the cascade bus from a node outside the cluster ('intruder'): its answer. */
async function bus(to: ClusterNode, method: string, body: unknown): Promise<{ ok: boolean; error?: string }> {
	const sub = store.duplicate();
	await sub.subscribe('parley:cascade:intruder');
	const reply = new Promise<{ ok: boolean; error?: string }>((resolve) =>
		sub.once('message', (_c: string, raw: string) => {
			const { ok: done, error } = JSON.parse(raw) as { ok: boolean; error?: string };
			resolve({ ok: done, error });
		}),
	);
	await store.publish(`parley:cascade:${to.id}`, JSON.stringify({ type: 'request', id: randomBytes(4).toString('hex'), from: 'intruder', method, body }));
	const answer = await reply;
	sub.disconnect();
	return answer;
}

const code = (r: { ok: boolean; error?: { code: string } }): string | undefined => (r.ok ? undefined : r.error?.code);

it('roles are the meeting\'s on every node: a co-host made on A moderates on B, and one made by a host on B on A', { timeout: 60_000 }, async () => {
	const room = `roles-${run}`;
	const { a, b, hal } = await meetingOnA(room);
	const tim = await person(b, room, 'tim');
	const hob = await person(b, room, 'hob', { host: true });
	const pat = await person(a, room, 'pat');
	await until(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is in');
	assert.equal(code(await request(tim.socket, 'host:settings', { allowSelfUnmute: false })), 'forbidden', 'not a co-host yet');
	await ok(hal.socket, 'host:setRole', { identity: 'tim', role: 'cohost' });
	await got(tim, 'meeting:you', (y) => y.role === 'cohost', 'tim is told');
	// Everyone is in the one meeting, whatever their node.
	await until(hal, 'meeting:state', (s) => ['hal', 'tim', 'hob', 'pat'].every((id) => s.members.some((m) => m.identity === id)), 'hal sees the people of both nodes');
	await until(tim, 'meeting:state', (s) => s.members.some((m) => m.identity === 'pat'), 'tim (on B) sees pat (on A)');
	await until(hal, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim' && m.role === 'cohost'), 'hal sees tim as co-host');
	// tim moderates from node B: the host node's meeting changes, everyone sees it. B learns the
	// role from the host node's mirror, which may come a moment after tim is told (the adapter and
	// the bus are two Redis channels): ask until B lets him, as with the demotion below.
	const promoted = Date.now() + 3000;
	let settings = await request(tim.socket, 'host:settings', { allowSelfUnmute: false });
	while (code(settings) === 'forbidden' && Date.now() < promoted) {
		await new Promise((r) => setTimeout(r, 50));
		settings = await request(tim.socket, 'host:settings', { allowSelfUnmute: false });
	}
	assert.equal(settings.ok && settings.data.settings.allowSelfUnmute, false, `tim's settings on node B: ${JSON.stringify(settings)}`);
	await until(hal, 'meeting:state', (s) => !s.settings.allowSelfUnmute, 'hal sees the setting tim changed');
	assert.equal(code(await request(tim.socket, 'host:setRole', { identity: 'pat', role: 'cohost' })), 'forbidden', 'a co-host does not change roles');

	// A host on node B makes pat (on A) a co-host; pat moderates on A.
	await ok(hob.socket, 'host:setRole', { identity: 'pat', role: 'cohost' });
	await got(pat, 'meeting:you', (y) => y.role === 'cohost', 'pat is told');
	await ok(pat.socket, 'host:settings', { allowSelfUnmute: true });
	await until(tim, 'meeting:state', (s) => s.settings.allowSelfUnmute && s.members.some((m) => m.identity === 'pat' && m.role === 'cohost'), 'tim sees it');
	// Demoted on A: no longer a co-host on B.
	await ok(hal.socket, 'host:setRole', { identity: 'tim', role: 'participant' });
	await got(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is told');
	const deadline = Date.now() + 3000;
	while (code(await request(tim.socket, 'host:settings', { locked: false })) !== 'forbidden') {
		assert.ok(Date.now() < deadline, 'tim lost the co-host role on node B');
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.equal(code(await request(hob.socket, 'host:setRole', { identity: 'hal', role: 'participant' })), 'invalid_state', 'a host stays host');
	void a;
});

it('the waiting room is one list: hosts on every node see who waits on any node and admit or deny them', { timeout: 60_000 }, async () => {
	const room = `wait-${run}`;
	const { a, b, hal } = await meetingOnA(room);
	const hob = await person(b, room, 'hob', { host: true });
	await ok(hal.socket, 'host:settings', { waitingRoom: true });
	const kim = await person(b, room, 'kim');
	const lee = await person(a, room, 'lee', { pinned: true });
	await until(kim, 'waiting:status', (w) => w.state === 'waiting', 'kim waits on B');
	await until(lee, 'waiting:status', (w) => w.state === 'waiting', 'lee waits on A');
	const both = (w: { people: { identity: string }[] }): boolean => ['kim', 'lee'].every((id) => w.people.some((p) => p.identity === id));
	await until(hal, 'waiting:list', both, 'the host on A sees both');
	await until(hob, 'waiting:list', both, 'the host on B sees both');

	assert.deepEqual(await ok(hal.socket, 'host:admit', { identity: 'kim' }), { admitted: ['kim'] }, 'A admits who waits on B');
	await got(kim, 'waiting:status', (w) => w.state === 'admitted', 'kim is let in');
	await until(kim, 'meeting:state', (s) => s.members.some((m) => m.identity === 'hal'), 'kim is in the meeting');
	assert.deepEqual(await ok(hob.socket, 'host:deny', { identity: 'lee' }), { denied: ['lee'] }, 'B turns away who waits on A');
	await got(lee, 'waiting:status', (w) => w.state === 'denied', 'lee is turned away');
	await until(hal, 'waiting:list', (w) => w.people.length === 0, 'nobody waits (A)');
	await until(hob, 'waiting:list', (w) => w.people.length === 0, 'nobody waits (B)');

	// The bus is internal, yet a node takes meeting messages only from nodes of the room: a
	// report from elsewhere, a mirror from a node that does not host the room, a new host that
	// does not hold the room's lease are refused.
	assert.deepEqual(await bus(a, 'meeting', { action: 'report', room, members: [{ identity: 'eve', name: 'eve', host: true }], waiting: [] }), { ok: false, error: 'not a node of this room' });
	assert.deepEqual(await bus(a, 'meeting', { action: 'settings', room, patch: { locked: 'yes' } }), { ok: false, error: 'bad_request' });
	assert.deepEqual(await bus(b, 'mirror', { room, settings: { locked: true, waitingRoom: false, allowSelfUnmute: true }, roles: [['eve', 'host']], hands: [], members: [], waiting: [] }), { ok: false, error: 'not the host node of this room' });
	assert.deepEqual(await bus(b, 'rehost', { room }), { ok: false, error: 'not the host of this room' });
	assert.equal(code(await request(kim.socket, 'host:admit', { all: true })), 'forbidden', 'kim is no host');

	// Everyone at once, from a copy.
	const ann = await person(a, room, 'ann', { pinned: true });
	const bob = await person(b, room, 'bob');
	await until(hob, 'waiting:list', (w) => w.people.length === 2, 'two wait');
	assert.deepEqual((await ok(hob.socket, 'host:admit', { all: true })).admitted.sort(), ['ann', 'bob']);
	await got(ann, 'waiting:status', (w) => w.state === 'admitted', 'ann is let in');
	await got(bob, 'waiting:status', (w) => w.state === 'admitted', 'bob is let in');
});

it('raised hands are one queue, and a host asks someone on another node to unmute', { timeout: 60_000 }, async () => {
	const room = `hands-${run}`;
	const { b, hal } = await meetingOnA(room);
	const tim = await person(b, room, 'tim');
	await until(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is in');
	await ok(tim.socket, 'hand:raise', {});
	await until(hal, 'meeting:state', (s) => s.hands.some((h) => h.identity === 'tim'), 'the host on A sees tim\'s hand');
	await ok(hal.socket, 'hand:raise', {});
	await until(tim, 'meeting:state', (s) => s.hands.map((h) => h.identity).join() === 'tim,hal', 'tim sees both hands, in order');
	await ok(hal.socket, 'hand:lower', { identity: 'tim' });
	await got(tim, 'moderation:notice', (n) => n.kind === 'hand-lowered', 'tim is told');
	await until(tim, 'meeting:state', (s) => s.hands.map((h) => h.identity).join() === 'hal', 'tim\'s hand is down');
	await ok(tim.socket, 'hand:raise', {});
	await ok(tim.socket, 'hand:lower', {});
	await until(hal, 'meeting:state', (s) => s.hands.map((h) => h.identity).join() === 'hal', 'lowered by tim');

	await ok(hal.socket, 'host:askUnmute', { identity: 'tim' });
	await got(tim, 'moderation:notice', (n) => n.kind === 'ask-unmute' && n.by === 'hal', 'tim is asked to unmute');
	assert.equal(code(await request(hal.socket, 'host:askUnmute', { identity: 'nobody' })), 'not_found');
});

it('a host ends the meeting on every node: the copy\'s meeting ends too (a co-host made there is not one in the next meeting)', { timeout: 60_000 }, async () => {
	const room = `end-${run}`;
	const { b, hal } = await meetingOnA(room);
	const hob = await person(b, room, 'hob', { host: true });
	let tim = await person(b, room, 'tim');
	await ok(hob.socket, 'host:setRole', { identity: 'tim', role: 'cohost' });
	await got(tim, 'meeting:you', (y) => y.role === 'cohost', 'tim is a co-host');
	await ok(hal.socket, 'host:end', {});
	await got(tim, 'session:ended', (e) => e.reason === 'meeting-ended', 'tim (on B) is told');
	await got(hob, 'session:ended', (e) => e.reason === 'meeting-ended', 'hob (on B) is told');
	await got(hal, 'session:ended', (e) => e.reason === 'meeting-ended', 'hal, who ended it (on A), is told');
	const gone = Date.now() + 5000;
	while (hal.socket.connected) {
		assert.ok(Date.now() < gone, 'hal is disconnected');
		await new Promise((r) => setTimeout(r, 50));
	}

	// The next meeting in the room: tim, served by the copy again, is a participant there.
	const again = await meetingOnA(room);
	const host = again.hal;
	tim = await person(again.b, room, 'tim');
	await until(tim, 'meeting:you', () => true, 'tim is in the next meeting');
	assert.equal(tim.seen.get('meeting:you')?.length, 1);
	await until(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is a participant in the next meeting');
	assert.equal(code(await request(tim.socket, 'host:settings', { locked: true })), 'forbidden');
	await until(host, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim' && m.role === 'participant'), 'the host sees tim in the next meeting');
});

it('a copy that outlives its host\'s room follows the next host node: its producers are pushed there, and a newcomer there consumes them', { timeout: 90_000 }, async () => {
	const room = `rehost-${run}`;
	const { a, b, hal } = await meetingOnA(room);
	// A third node, for the room's next host.
	const [c] = (await startCluster({ redisUrl: redis.url, ids: ['wc'], env: { PARLEY_CLUSTER_HEARTBEAT_MS: '500', PARLEY_CLUSTER_NODE_TTL_MS: '3000', PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1' } })) as [ClusterNode];
	nodes.push(c);
	const tim = await person(b, room, 'tim', { pinned: true });
	await joinRoom(tim.socket);
	const send = await ok(tim.socket, 'media:createTransport', { direction: 'send' });
	const { producerId } = await ok(tim.socket, 'media:produce', { transportId: send.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 5101), source: 'microphone' });
	await got(hal, 'producer:new', (p) => p.id === producerId, 'the host node has tim\'s microphone');

	// Node A is drained: after the grace period its room closes and its lease is released; tim stays on B's copy.
	const drain = await fetch(`${a.url}/admin/drain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graceMs: 300 }) });
	assert.equal(drain.status, 200);
	const released = Date.now() + 10_000;
	while ((await store.get(`parley:room:{${room}}`)) !== null || hal.socket.connected) {
		assert.ok(Date.now() < released, 'node A ended its meeting and released the room');
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.ok(tim.socket.connected, 'tim is still in B\'s copy');
	// The host comes back through node C, which claims the room: B's copy follows it.
	const ned = await person(c, room, 'hal', { host: true, pinned: true });
	assert.equal(await store.get(`parley:room:{${room}}`), c.id);
	const joined = await joinRoom(ned.socket);
	const them = joined.peers.find((p) => p.id === 'tim');
	assert.ok(them?.producers.some((p) => p.id === producerId), `the newcomer on C is told of tim and his microphone: ${JSON.stringify(joined.peers)}`);
	const recv = await ok(ned.socket, 'media:createTransport', { direction: 'recv' });
	const consumer = await ok(ned.socket, 'media:consume', { transportId: recv.id, producerId });
	assert.equal(consumer.producerId, producerId);
	await until(ned, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim'), 'tim is in the meeting the host sees');
});
