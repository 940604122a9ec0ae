/**
 * Cascading between two node processes (real mediasoup workers) on one real redis-server:
 * the link (PipeTransports, SRTP) is negotiated over Redis, a producer of node A is pulled
 * to node B and a producer of node B is pushed to node A; RTP sent into each node comes out
 * of the other, every packet once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { receiveRtp, sendRtp, startCascadeNode, type CascadeNodeProcess } from '../../bench/cluster/cascadeNodes.ts';
import { redisForTests } from '../../test/redis.ts';
import { randomMediaPort } from '../../test/ports.ts';

let redis: Awaited<ReturnType<typeof redisForTests>>;
let a: CascadeNodeProcess;
let b: CascadeNodeProcess;
const run = randomBytes(3).toString('hex');

before(async () => {
	redis = await redisForTests();
	const base = randomMediaPort(40);
	[a, b] = await Promise.all([
		startCascadeNode(`ca-${run}`, redis.url, { min: base, max: base + 19 }),
		startCascadeNode(`cb-${run}`, redis.url, { min: base + 20, max: base + 39 }),
	]);
});
after(async () => {
	await Promise.allSettled([a?.stop(), b?.stop()]);
	await redis?.stop();
});

it('forwards video both ways across the pipe between two nodes, each packet once', async () => {
	const room = `cascade-${run}`;
	const inA = await a.call<{ port: number; producerId: string }>({ cmd: 'ingest', room, ssrc: 1111 });
	const inB = await b.call<{ port: number; producerId: string }>({ cmd: 'ingest', room, ssrc: 2222 });
	// A's producer pulled by B; B's producer pushed to A.
	await b.call({ cmd: 'pull', room, node: a.id, producerId: inA.producerId });
	await b.call({ cmd: 'push', room, node: a.id, producerId: inB.producerId });
	// Asking again does not pipe it twice.
	await b.call({ cmd: 'pull', room, node: a.id, producerId: inA.producerId });
	const atB = await receiveRtp();
	const atA = await receiveRtp();
	await b.call({ cmd: 'egress', room, producerId: inA.producerId, port: atB.port });
	await a.call({ cmd: 'egress', room, producerId: inB.producerId, port: atA.port });
	const fromA = sendRtp(inA.port, 1111, 0, 50);
	const fromB = sendRtp(inB.port, 2222, 1_000_000, 50);
	await new Promise((r) => setTimeout(r, 2000));
	fromA.stop();
	fromB.stop();
	await new Promise((r) => setTimeout(r, 300));
	atA.close();
	atB.close();
	assert.ok(atB.received.size > 40, `A → B: ${atB.received.size} of ${fromA.sent.size} packets`);
	assert.ok(atA.received.size > 40, `B → A: ${atA.received.size} of ${fromB.sent.size} packets`);
	for (const c of atB.received.keys()) assert.ok(fromA.sent.has(c), 'B receives only what A was sent');
	for (const c of atA.received.keys()) assert.ok(fromB.sent.has(c), `A receives only what B was sent: ${c}`);
});

it('carries a producer\'s pause, resume and close over the link to the other node\'s copy', async () => {
	const room = `cascade-state-${run}`;
	const inB = await b.call<{ port: number; producerId: string }>({ cmd: 'ingest', room, ssrc: 3333 });
	await b.call({ cmd: 'push', room, node: a.id, producerId: inB.producerId });
	const atA = await receiveRtp();
	const { consumerId } = await a.call<{ consumerId: string }>({ cmd: 'egress', room, producerId: inB.producerId, port: atA.port });
	const state = () => a.call<{ closed: boolean; producerPaused: boolean }>({ cmd: 'egressState', consumerId });
	const until = async (what: string, check: (s: { closed: boolean; producerPaused: boolean }) => boolean): Promise<void> => {
		const deadline = Date.now() + 3000;
		while (!check(await state())) {
			if (Date.now() > deadline) assert.fail(`timed out: ${what} (${JSON.stringify(await state())})`);
			await new Promise((r) => setTimeout(r, 50));
		}
	};
	assert.deepEqual(await state(), { closed: false, producerPaused: false });
	await b.call({ cmd: 'pauseIngest', producerId: inB.producerId, paused: true });
	await until('paused on A', (s) => s.producerPaused);
	await b.call({ cmd: 'pauseIngest', producerId: inB.producerId, paused: false });
	await until('resumed on A', (s) => !s.producerPaused);
	await b.call({ cmd: 'closeIngest', producerId: inB.producerId });
	await until('closed on A', (s) => s.closed);
	atA.close();
});

it('stops sending a pulled producer once the pulling node releases it', async () => {
	const room = `cascade-release-${run}`;
	const inA = await a.call<{ port: number; producerId: string }>({ cmd: 'ingest', room, ssrc: 4444 });
	const streams = async () => Promise.all([a, b].map(async (n) => (await n.call<{ streams: number }>({ cmd: 'streams' })).streams));
	const before = await streams();
	await b.call({ cmd: 'pull', room, node: a.id, producerId: inA.producerId });
	assert.deepEqual(await streams(), [before[0]! + 1, before[1]! + 1], 'sent by A, received by B');
	await b.call({ cmd: 'release', room, node: a.id, producerId: inA.producerId });
	const deadline = Date.now() + 3000;
	while (JSON.stringify(await streams()) !== JSON.stringify(before)) {
		if (Date.now() > deadline) assert.fail(`still piped: ${JSON.stringify(await streams())} (before ${JSON.stringify(before)})`);
		await new Promise((r) => setTimeout(r, 50));
	}
});

it('refuses a pull for a room without a link, and a producer that does not exist', async () => {
	const room = `cascade-none-${run}`;
	await assert.rejects(b.call({ cmd: 'pull', room, node: a.id, producerId: 'no-such-producer' }), /no-such-producer|not found|Producer/i);
	await assert.rejects(b.call({ cmd: 'pull', room, node: 'no-such-node', producerId: 'x' }), /not listening/);
});
