import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PooledWorker } from '../WorkerPool.ts';
import { HeadroomPlacement, type WorkerLoadView } from './Placement.ts';

const worker = (index: number, consumers: number, transports = 0): PooledWorker =>
	({ index, port: 40000 + index, consumers, transports, routers: 1 }) as unknown as PooledWorker;
const view = (w: PooledWorker, cpuPercent: number | null = 0): WorkerLoadView => ({ worker: w, cpuPercent });

describe('HeadroomPlacement', () => {
	const policy = new HeadroomPlacement({ spreadConsumers: 100, spreadCpuPercent: 70 });

	it('keeps a room on its worker while it has headroom, even if another is emptier', () => {
		const busy = worker(0, 60);
		const idle = worker(1, 0);
		assert.equal(policy.choose({ workers: [view(busy), view(idle)], roomWorkers: [0] }), busy);
	});

	it('spreads when the room\'s worker forwards too much or its CPU is high', () => {
		const full = worker(0, 100);
		const idle = worker(1, 10);
		assert.equal(policy.choose({ workers: [view(full), view(idle)], roomWorkers: [0] }), idle);
		const hot = worker(0, 5);
		assert.equal(policy.choose({ workers: [view(hot, 90), view(idle)], roomWorkers: [0] }), idle);
	});

	it('judges by consumers and CPU, not by routers; a new room goes where there is most headroom', () => {
		const a = worker(0, 50);
		const b = worker(1, 20);
		assert.equal(policy.choose({ workers: [view(a, 10), view(b, 10)], roomWorkers: [] }), b);
		assert.equal(policy.choose({ workers: [view(a, 5), view(b, 60)], roomWorkers: [] }), a, 'CPU is the tighter budget on b');
	});

	it('never picks the worker a peer is moved off when another is live', () => {
		const a = worker(0, 0);
		const b = worker(1, 90);
		assert.equal(policy.choose({ workers: [view(a), view(b)], roomWorkers: [0], avoid: 0 }), b);
	});
});
