import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, test } from 'node:test';
import { randomRecorderPortBase } from '../../test/ports.ts';
import { LimitError } from '../errors.ts';
import { RtpPortPool } from './RtpPortPool.ts';

const held: Socket[] = [];
after(() => {
	for (const socket of held) socket.close();
});

/** Another process's socket on `port` (`address`: one address, or all of them). */
function hold(port: number, address?: string): Promise<void> {
	const socket = createSocket('udp4');
	held.push(socket);
	return new Promise((resolve, reject) => {
		socket.once('error', reject);
		socket.bind(port, address, () => resolve());
	});
}

test('recording port pairs: round-robin, even RTP ports, released pairs reused last', async () => {
	const base = randomRecorderPortBase(10);
	const pool = new RtpPortPool(base + 1, base + 6); // odd min: starts at the next even port
	assert.equal(pool.capacity, 2);
	const a = await pool.take();
	const b = await pool.take();
	assert.deepEqual([a, b], [base + 2, base + 4]);
	await assert.rejects(pool.take(), LimitError);
	pool.release(a);
	assert.equal(await pool.take(), a);
	assert.equal(pool.inUse, 2);
});

test('a pair whose RTP or RTCP port another process holds is skipped (ffmpeg could not listen there)', async () => {
	const base = randomRecorderPortBase(10);
	await hold(base, '127.0.0.1'); // RTP port of the first pair, on loopback
	await hold(base + 3); // RTCP port of the second pair, on every address
	const pool = new RtpPortPool(base, base + 7);
	assert.equal(await pool.take(), base + 4);
	assert.equal(await pool.take(), base + 6);
	await assert.rejects(pool.take(), (error: unknown) => error instanceof LimitError && /held by other processes/.test(error.message));
	assert.equal(pool.inUse, 2);
});

test('concurrent takes never hand out the same pair', async () => {
	const base = randomRecorderPortBase(20);
	const pool = new RtpPortPool(base, base + 19);
	const ports = await Promise.all(Array.from({ length: 10 }, () => pool.take()));
	assert.equal(new Set(ports).size, 10);
	assert.ok(ports.every((p) => p % 2 === 0 && p >= base && p + 1 <= base + 19));
});
