/**
 * One mediasoup worker per core, each with a WebRtcServer so that every transport of a
 * worker shares one UDP and one TCP port (basePort + index). A worker that dies is
 * replaced on the same port; its routers are closed by mediasoup and the rooms on it
 * are told through the router's `workerclose` event.
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { InvalidStateError } from './errors.ts';

export interface WorkerPoolOptions {
	workers: number;
	listenIp: string;
	announcedAddress: string;
	basePort: number;
	logLevel: types.WorkerLogLevel;
	logger: Logger;
	/** Delay before a dead worker is replaced (ms). */
	respawnDelayMs?: number;
}

export interface PooledWorker {
	readonly index: number;
	readonly port: number;
	readonly worker: types.Worker;
	readonly webRtcServer: types.WebRtcServer;
	/** Routers currently open on this worker (the load measure used by pick()). */
	routers: number;
}

export type WorkerPoolEvents = {
	workerdied: [index: number, error: Error];
	workerrespawned: [worker: PooledWorker];
};

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
	readonly #options: WorkerPoolOptions;
	readonly #workers: (PooledWorker | undefined)[];
	#closed = false;

	private constructor(options: WorkerPoolOptions) {
		super();
		this.#options = options;
		this.#workers = new Array<PooledWorker | undefined>(options.workers).fill(undefined);
	}

	static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
		const pool = new WorkerPool(options);
		try {
			await Promise.all(pool.#workers.map((_, index) => pool.#spawn(index)));
		} catch (error) {
			pool.close();
			throw error;
		}
		options.logger.info(
			{ workers: options.workers, ports: pool.ports, announcedAddress: options.announcedAddress },
			'mediasoup workers ready',
		);
		return pool;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Media ports in use (one per worker, UDP and TCP). */
	get ports(): number[] {
		return this.#workers.map((_, i) => this.#options.basePort + i);
	}

	get workers(): readonly PooledWorker[] {
		return this.#workers.filter((w): w is PooledWorker => w !== undefined);
	}

	/** The live worker with the fewest routers. */
	pick(): PooledWorker {
		if (this.#closed) throw new InvalidStateError('worker pool closed');
		let best: PooledWorker | undefined;
		for (const w of this.#workers) if (w && (!best || w.routers < best.routers)) best = w;
		if (!best) throw new InvalidStateError('no live mediasoup worker');
		return best;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const w of this.#workers) w?.worker.close();
		this.#workers.fill(undefined);
		this.removeAllListeners();
	}

	async #spawn(index: number): Promise<PooledWorker> {
		const { listenIp, announcedAddress, basePort, logLevel, logger } = this.#options;
		const port = basePort + index;
		// mediasoup closes every worker on SIGINT/SIGTERM by itself: the application decides
		// (it drains meetings first), so the listeners the new worker adds are taken off again.
		const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
		const worker = await mediasoup.createWorker({
			logLevel,
			logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'rtx', 'bwe', 'score', 'simulcast', 'svc'],
			appData: { index },
		});
		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			for (const listener of process.listeners(signal)) if (!before[signal].includes(listener)) process.removeListener(signal, listener);
		}
		const log = logger.child({ worker: index, pid: worker.pid });
		let webRtcServer: types.WebRtcServer;
		try {
			const announced = announcedAddress === listenIp ? undefined : announcedAddress;
			webRtcServer = await worker.createWebRtcServer({
				listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
					protocol,
					ip: listenIp,
					port,
					...(announced ? { announcedAddress: announced } : {}),
				})),
			});
		} catch (error) {
			worker.close();
			throw new Error(`cannot listen for media on ${listenIp}:${port} (udp/tcp): ${(error as Error).message}`);
		}
		const pooled: PooledWorker = { index, port, worker, webRtcServer, routers: 0 };
		this.#workers[index] = pooled;
		worker.observer.on('newrouter', (router) => {
			pooled.routers++;
			router.observer.once('close', () => pooled.routers--);
		});
		worker.on('died', (error) => {
			log.error({ err: error }, 'mediasoup worker died');
			this.#workers[index] = undefined;
			if (this.#closed) return;
			this.emit('workerdied', index, error);
			setTimeout(() => {
				if (this.#closed) return;
				this.#spawn(index).then(
					(w) => {
						log.warn({ newPid: w.worker.pid }, 'mediasoup worker replaced');
						this.emit('workerrespawned', w);
					},
					(err: unknown) => log.fatal({ err }, 'cannot replace mediasoup worker'),
				);
			}, this.#options.respawnDelayMs ?? 1000).unref();
		});
		log.debug({ port }, 'mediasoup worker started');
		return pooled;
	}
}
