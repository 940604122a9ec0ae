/**
 * Faults in a room spanning nodes: two real Parley nodes on a redis-server of this file's own
 * (restarted in one case), `cluster.roomSpreadPeers` = 1, node TTL 5 s (a node paused for a
 * few seconds is slow, not gone). The room's host joins on node A; people connecting to node B
 * are served by B's copy. Each case is a fault or a gap found by trying it:
 *   - someone let in on the copy is in the host node's record (a failover does not make them wait again);
 *   - a change sent from the copy while the host node is paused (SIGSTOP 3.5 s) is carried out once it resumes;
 *   - redis-server restarted mid-meeting (no persistence): the meeting goes on across the nodes, and its record is back;
 *   - a drained node sends its waiting people to reconnect, it does not tell them they were turned away.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type ClusterNode } from '../../bench/lib/cluster.ts';
import { spanPeople, type Person } from '../../test/spanPeople.ts';
import { joinRoom, ok, request, syntheticRtpParameters, type TestClient } from '../../test/harness.ts';
import { startRedisOnce, startRedisWith } from '../../test/redis.ts';

const run = randomBytes(3).toString('hex');
let redisChild: ChildProcess;
let redisPort: number;
let nodes: ClusterNode[] = [];
let store: Redis;
const clients: TestClient[] = [];

before(async () => {
	({ child: redisChild, port: redisPort } = await startRedisWith(['--save', '', '--appendonly', 'no']));
	nodes = await startCluster({
		redisUrl: `redis://127.0.0.1:${redisPort}`,
		ids: ['fa', 'fb'],
		env: { PARLEY_CLUSTER_HEARTBEAT_MS: '300', PARLEY_CLUSTER_NODE_TTL_MS: '5000', PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1' },
	});
	store = new Redis(`redis://127.0.0.1:${redisPort}`, { maxRetriesPerRequest: null });
	store.on('error', () => undefined);
});
after(async () => {
	for (const c of clients) c.disconnect();
	store?.disconnect();
	for (const n of nodes) resume(n);
	await Promise.allSettled(nodes.map((n) => n.stop()));
	redisChild?.kill('SIGKILL');
});

/** SIGCONT a node (it may have exited). */
function resume(node: ClusterNode): void {
	try {
		process.kill(node.pid, 'SIGCONT');
	} catch {
		// gone already
	}
}

const { person, until, meetingOnA } = spanPeople({ nodes: () => nodes, store: () => store, clients, waitMs: 6000 });

async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 6000): Promise<void> {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) assert.fail(what);
		await new Promise((r) => setTimeout(r, 100));
	}
}


const record = async (room: string): Promise<{ known: string[]; settings: { locked: boolean } } | null> => {
	const text = await store.get(`parley:meeting:{${room}}`);
	return text === null ? null : (JSON.parse(text) as { known: string[]; settings: { locked: boolean } });
};

it('someone let in from the waiting room of the copy is in the host node\'s record (after a failover they do not wait again)', { timeout: 60_000 }, async () => {
	const room = `known-${run}`;
	const { b, hal } = await meetingOnA(room);
	await ok(hal.socket, 'host:settings', { waitingRoom: true });
	const kim = await person(b, room, 'kim');
	await until(kim, 'waiting:status', (w) => w.state === 'waiting', 'kim waits on B');
	await until(hal, 'waiting:list', (w) => w.people.some((p) => p.identity === 'kim'), 'hal sees kim wait');
	await ok(hal.socket, 'host:admit', { identity: 'kim' });
	await until(kim, 'meeting:you', () => true, 'kim is in');
	await eventually(async () => (await record(room))?.known.includes('kim') === true, 'the record the next host node takes over lists kim as let in');
});

it('a change from the copy while the host node is paused for 3.5 s is carried out once it resumes (not failed after the bus timeout)', { timeout: 60_000 }, async () => {
	const room = `pause-${run}`;
	const { a, b, hal } = await meetingOnA(room);
	const tim = await person(b, room, 'tim');
	await until(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is in');
	await until(hal, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim'), 'hal sees tim');
	process.kill(a.pid, 'SIGSTOP');
	const wake = setTimeout(() => resume(a), 3500);
	try {
		const raised = await request(tim.socket, 'hand:raise', {});
		assert.deepEqual(raised, { ok: true, data: {} }, 'the hand went up on the host node once it resumed');
	} finally {
		clearTimeout(wake);
		resume(a);
	}
	await until(hal, 'meeting:state', (s) => s.hands.map((h) => h.identity).join() === 'tim', 'hal sees tim\'s hand, once');
	await until(tim, 'meeting:state', (s) => s.hands.map((h) => h.identity).join() === 'tim', 'tim sees his hand (the cluster converged)');
	// Still one meeting: a setting changed on A reaches B.
	await ok(hal.socket, 'host:settings', { allowSelfUnmute: false });
	await until(tim, 'meeting:state', (s) => !s.settings.allowSelfUnmute, 'tim follows the host node again');
	void b;
});

it('redis-server restarted mid-meeting (no persistence): roles and settings still cross the nodes, and the meeting\'s record is written again', { timeout: 90_000 }, async () => {
	const room = `restart-${run}`;
	const { b, hal } = await meetingOnA(room);
	const tim = await person(b, room, 'tim');
	await until(tim, 'meeting:you', (y) => y.role === 'participant', 'tim is in');
	await until(hal, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim'), 'hal sees tim');
	await eventually(async () => (await record(room)) !== null, 'the record is written');
	const ended = (p: Person): number => p.seen.get('session:ended')?.length ?? 0;

	redisChild.kill('SIGKILL');
	await new Promise((r) => redisChild.once('exit', r));
	redisChild = await startRedisOnce(redisPort, ['--save', '', '--appendonly', 'no']);
	await eventually(async () => (await store.ping().catch(() => '')) === 'PONG', 'redis is back');
	// The nodes reconnect and their leases are renewed (claimed again: nobody held them).
	await eventually(async () => (await store.get(`parley:room:{${room}}`)) !== null, 'the room\'s lease is back', 8000);
	// ... and each node counts itself in the room again (how the nodes of a spanning room find each other).
	await eventually(async () => (await store.hexists(`parley:roomnodes:{${room}}`, b.id)) === 1, 'node B is counted in the room again', 8000);

	await ok(hal.socket, 'host:setRole', { identity: 'tim', role: 'cohost' });
	await until(tim, 'meeting:you', (y) => y.role === 'cohost', 'tim on B is made a co-host from A after the restart');
	// (the role reaches tim through the adapter a moment before B's copy has the host's meeting)
	await eventually(async () => (await request(tim.socket, 'host:settings', { locked: true })).ok, 'tim moderates from B');
	await until(hal, 'meeting:state', (s) => s.settings.locked, 'hal sees the setting tim changed on B');
	await eventually(async () => (await record(room))?.settings.locked === true, 'the record is back in Redis');
	await eventually(async () => (await record(room))?.known.includes('tim') === true, 'with tim in it');
	assert.ok(tim.socket.connected && hal.socket.connected, 'nobody was sent away: no node took the other for dead');
	assert.equal(ended(tim) + ended(hal), 0);
});

it('a copy node paused past the node TTL (SIGSTOP 6.5 s): once it resumes, the host node has its people and their media again', { timeout: 90_000 }, async () => {
	const room = `pausecopy-${run}`;
	const { b, hal } = await meetingOnA(room);
	const tim = await person(b, room, 'tim');
	await joinRoom(tim.socket);
	const send = await ok(tim.socket, 'media:createTransport', { direction: 'send' });
	const { producerId } = await ok(tim.socket, 'media:produce', { transportId: send.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 5301), source: 'microphone' });
	await until(hal, 'producer:new', (p) => p.id === producerId, 'the host node has tim\'s microphone');
	await until(hal, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim'), 'hal sees tim');
	process.kill(b.pid, 'SIGSTOP');
	try {
		await until(hal, 'meeting:state', (s) => !s.members.some((m) => m.identity === 'tim'), 'node A takes B for gone', 9000);
	} finally {
		resume(b);
	}
	await until(hal, 'meeting:state', (s) => s.members.some((m) => m.identity === 'tim'), 'tim is back in the meeting hal sees', 8000);
	await until(hal, 'peer:joined', (p) => p.id === 'tim' && p.producers.some((x) => x.id === producerId), 'hal is told of tim and his microphone again', 8000);
	const recv = await ok(hal.socket, 'media:createTransport', { direction: 'recv' });
	const consumer = await ok(hal.socket, 'media:consume', { transportId: recv.id, producerId });
	assert.equal(consumer.producerId, producerId, 'hal consumes tim\'s microphone, pushed to A again');
});

it('the host node killed (kill -9) with people waiting on the copy: they are sent to reconnect (not stuck, not turned away), wait again, and are admitted; someone admitted on the copy before does not wait again', { timeout: 90_000 }, async () => {
	const room = `kill-${run}`;
	const { a, b, hal } = await meetingOnA(room);
	await ok(hal.socket, 'host:settings', { waitingRoom: true });
	const ann = await person(b, room, 'ann');
	await until(hal, 'waiting:list', (w) => w.people.some((p) => p.identity === 'ann'), 'ann waits on B');
	await ok(hal.socket, 'host:admit', { identity: 'ann' });
	await until(ann, 'meeting:you', () => true, 'ann is in');
	const kim = await person(b, room, 'kim');
	await until(hal, 'waiting:list', (w) => w.people.some((p) => p.identity === 'kim'), 'kim waits on B');
	await eventually(async () => (await record(room))?.known.includes('ann') === true, 'ann is in the record');

	await a.kill();
	nodes = nodes.filter((n) => n !== a);
	await eventually(() => !kim.socket.connected && !ann.socket.connected, 'B sends its people away once A is gone', 12_000);
	assert.deepEqual(kim.seen.get('waiting:status'), [{ state: 'waiting' }], 'kim was not told "denied"');
	assert.deepEqual(kim.seen.get('session:ended'), [{ reason: 'server-shutdown' }], 'kim is told to reconnect');
	// Back through the live node (as through the load balancer): B takes the room and its record over.
	const ann2 = await person(b, room, 'ann');
	await until(ann2, 'meeting:you', () => true, 'ann is in at once');
	assert.equal(ann2.seen.get('waiting:status'), undefined, 'ann, admitted on the copy before the crash, does not wait again');
	const kim2 = await person(b, room, 'kim');
	await until(kim2, 'waiting:status', (w) => w.state === 'waiting', 'kim waits again (the waiting room is still on)');
	const hal2 = await person(b, room, 'hal', { host: true });
	await until(hal2, 'waiting:list', (w) => w.people.some((p) => p.identity === 'kim'), 'the host, back, sees kim wait');
	await ok(hal2.socket, 'host:admit', { identity: 'kim' });
	await until(kim2, 'waiting:status', (w) => w.state === 'admitted', 'kim is let in');
});

it('a drained node sends who waits there to reconnect (server-shutdown); it does not tell them they were turned away', { timeout: 60_000 }, async () => {
	const room = `drain-${run}`;
	const { a, hal } = await meetingOnA(room);
	await ok(hal.socket, 'host:settings', { waitingRoom: true });
	const lee = await person(a, room, 'lee', { pinned: true });
	await until(lee, 'waiting:status', (w) => w.state === 'waiting', 'lee waits on A');
	const drain = await fetch(`${a.url}/admin/drain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graceMs: 200 }) });
	assert.equal(drain.status, 200);
	await eventually(() => !lee.socket.connected, 'lee is disconnected by the drain', 10_000);
	assert.deepEqual(lee.seen.get('waiting:status'), [{ state: 'waiting' }], 'lee was not told "denied"');
	assert.deepEqual(lee.seen.get('session:ended'), [{ reason: 'server-shutdown' }], 'lee is told to reconnect');
});
