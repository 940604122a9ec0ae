/** The worker pool against real mediasoup workers: a pool closed while it replaces a dead worker leaves no worker behind. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pino } from 'pino';
import { childrenOf } from '../bench/lib/proc.ts';
import { WorkerPool } from './WorkerPool.ts';

it('a pool closed while a dead worker is being replaced leaves no mediasoup-worker process', async () => {
	for (let round = 0; round < 3; round++) {
		const pool = await WorkerPool.create({
			workers: 1,
			listenIp: '127.0.0.1',
			announcedAddress: '127.0.0.1',
			basePort: 20000 + Math.floor(Math.random() * 20000),
			logLevel: 'error',
			logger: pino({ level: 'silent' }),
			respawnDelayMs: 0,
		});
		const died = new Promise<void>((resolve) => pool.once('workerdied', () => resolve()));
		process.kill(pool.workers[0]!.worker.pid, 'SIGKILL');
		await died;
		// The replacement is starting: close now, a few ms into it (varied per round).
		await new Promise((r) => setTimeout(r, round * 3));
		pool.close();
		const deadline = Date.now() + 3000;
		while (childrenOf(process.pid, 'mediasoup-worke').length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		assert.deepEqual(childrenOf(process.pid, 'mediasoup-worke'), [], `round ${round}: a worker outlived its pool`);
	}
});
