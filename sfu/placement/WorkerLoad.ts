/**
 * How busy each mediasoup worker is: CPU (from `worker.getResourceUsage()`, sampled
 * periodically and turned into a percentage of one core) and the totals the worker's
 * process reported. Placement reads it to put peers where there is headroom; metrics
 * and the admin view read the same figures.
 */
import type { Logger } from 'pino';
import type { WorkerPool } from '../WorkerPool.ts';

export interface WorkerSample {
	/** CPU used since the previous sample, percent of one core (user + system). */
	cpuPercent: number;
	/** Totals of the worker process (seconds), as getResourceUsage() reports them. */
	userSeconds: number;
	systemSeconds: number;
	/** Peak resident memory of the worker process (bytes). */
	maxRssBytes: number;
	pid: number;
	at: number;
}

export interface WorkerLoadOptions {
	/** How often every worker is sampled (ms); 0: only when sample() is called. */
	intervalMs: number;
	/** Where a failed sample of a live worker is reported (a dead worker's is expected). */
	logger?: Logger;
}

export class WorkerLoad {
	readonly #pool: WorkerPool;
	readonly #logger: Logger | undefined;
	readonly #samples = new Map<number, WorkerSample>();
	#timer: NodeJS.Timeout | undefined;
	#closed = false;

	constructor(pool: WorkerPool, { intervalMs, logger }: WorkerLoadOptions) {
		this.#pool = pool;
		this.#logger = logger;
		if (intervalMs > 0) {
			this.#timer = setInterval(() => void this.sample(), intervalMs);
			this.#timer.unref();
		}
		void this.sample();
	}

	/** The last sample of a worker (by pool index), if it has one since its process started. */
	get(index: number): WorkerSample | undefined {
		const s = this.#samples.get(index);
		const live = this.#pool.workers.find((w) => w.index === index);
		return s && live && live.worker.pid === s.pid ? s : undefined;
	}

	/** Sample every live worker now (a dead or respawned worker starts over). */
	async sample(): Promise<void> {
		if (this.#closed) return;
		await Promise.all(
			this.#pool.workers.map(async ({ index, worker }) => {
				const usage = await worker.getResourceUsage().catch((err: unknown) => {
					if (!worker.closed && !this.#closed) this.#logger?.warn({ worker: index, pid: worker.pid, err }, 'worker resource usage failed');
					return undefined;
				});
				if (!usage || this.#closed) return;
				const at = performance.now();
				const userSeconds = usage.ru_utime / 1000;
				const systemSeconds = usage.ru_stime / 1000;
				const previous = this.#samples.get(index);
				let cpuPercent = 0;
				if (previous && previous.pid === worker.pid && at > previous.at) {
					const used = userSeconds + systemSeconds - previous.userSeconds - previous.systemSeconds;
					cpuPercent = Math.max(0, (used / ((at - previous.at) / 1000)) * 100);
				}
				this.#samples.set(index, {
					cpuPercent,
					userSeconds,
					systemSeconds,
					maxRssBytes: usage.ru_maxrss * 1024,
					pid: worker.pid,
					at,
				});
			}),
		);
	}

	close(): void {
		this.#closed = true;
		clearInterval(this.#timer);
	}
}
