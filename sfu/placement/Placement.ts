/**
 * Where a participant's media goes: which worker (and so which of the room's routers).
 * A policy object, swappable (Sfu.create takes any PlacementPolicy). The default,
 * HeadroomPlacement, keeps a room on the workers it already uses while they have room,
 * and otherwise puts the peer on the worker with the most headroom, judged by what the
 * worker forwards (consumers) and its measured CPU, not by how many routers it has.
 */
import type { PooledWorker } from '../WorkerPool.ts';

export interface WorkerLoadView {
	readonly worker: PooledWorker;
	/** CPU over the last sampling period, percent of one core (null: not sampled yet). */
	readonly cpuPercent: number | null;
}

export interface PlacementRequest {
	/** Live workers and their load. Never empty. */
	readonly workers: readonly WorkerLoadView[];
	/** Workers the room already has routers on (pool indexes), in the order it got them. */
	readonly roomWorkers: readonly number[];
	/** The worker the peer must leave (it is being moved off it), if any. */
	readonly avoid?: number;
}

export interface PlacementPolicy {
	/** Pick a worker for one peer (or a new room) among `workers`. */
	choose(request: PlacementRequest): PooledWorker;
}

export interface HeadroomPlacementOptions {
	/** A room spreads to another worker once its worker forwards this many streams (consumers). */
	spreadConsumers: number;
	/** ... or once its worker's CPU is above this (percent of one core). */
	spreadCpuPercent: number;
}

/** Free capacity in [0, 1]: the tighter of the consumer and the CPU budget. */
export function headroom(view: WorkerLoadView, { spreadConsumers, spreadCpuPercent }: HeadroomPlacementOptions): number {
	const byConsumers = spreadConsumers > 0 ? 1 - view.worker.consumers / spreadConsumers : 0;
	const byCpu = spreadCpuPercent > 0 ? 1 - (view.cpuPercent ?? 0) / spreadCpuPercent : 0;
	return Math.min(byConsumers, byCpu);
}

export class HeadroomPlacement implements PlacementPolicy {
	readonly #options: HeadroomPlacementOptions;

	constructor(options: HeadroomPlacementOptions) {
		this.#options = options;
	}

	choose({ workers, roomWorkers, avoid }: PlacementRequest): PooledWorker {
		const candidates = workers.filter((w) => w.worker.index !== avoid);
		const pool = candidates.length > 0 ? candidates : workers;
		// Stay on a worker the room already uses while it has headroom: no pipe needed.
		for (const index of roomWorkers) {
			const view = pool.find((w) => w.worker.index === index);
			if (view && headroom(view, this.#options) > 0) return view.worker;
		}
		let best = pool[0]!;
		for (const view of pool.slice(1)) {
			const a = headroom(view, this.#options);
			const b = headroom(best, this.#options);
			const lighter =
				view.worker.consumers < best.worker.consumers ||
				(view.worker.consumers === best.worker.consumers && view.worker.transports < best.worker.transports);
			if (a > b || (a === b && lighter)) best = view;
		}
		return best.worker;
	}
}
