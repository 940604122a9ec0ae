/**
 * Viewport reports, coalesced per peer: one batch is applied at a time and batches start
 * at least `minIntervalMs` apart; reports arriving meanwhile replace the pending viewport
 * of each consumer (the latest wins) and are answered when their batch is applied. A
 * client reporting 1,000 times a second costs the server what one reporting 10 times a
 * second does.
 */
import type { Peer } from '../Peer.ts';
import { NotFoundError } from '../errors.ts';
import type { Viewport } from './chooseLayers.ts';

export class ViewportQueue {
	readonly #peer: Peer;
	readonly #minIntervalMs: number;
	#pending = new Map<string, Viewport>();
	#waiters: (() => void)[] = [];
	#running = false;
	#lastStart = -Infinity;

	constructor(peer: Peer, minIntervalMs: number) {
		this.#peer = peer;
		this.#minIntervalMs = minIntervalMs;
	}

	/**
	 * Queue viewports; resolves once they (or newer ones for the same consumers) are applied.
	 * Unknown consumers are skipped: they may have closed while the report was in flight.
	 */
	push(viewports: Iterable<{ consumerId: string } & Viewport>): Promise<void> {
		for (const { consumerId, width, height, visible } of viewports) {
			if (this.#peer.consumers.has(consumerId)) this.#pending.set(consumerId, { width, height, visible });
		}
		if (this.#pending.size === 0) return Promise.resolve();
		const applied = new Promise<void>((resolve) => this.#waiters.push(resolve));
		if (!this.#running) {
			this.#running = true;
			void this.#run();
		}
		return applied;
	}

	async #run(): Promise<void> {
		try {
			while (this.#pending.size > 0 && !this.#peer.closed) {
				const wait = this.#lastStart + this.#minIntervalMs - performance.now();
				if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
				this.#lastStart = performance.now();
				const batch = this.#pending;
				const waiters = this.#waiters;
				this.#pending = new Map();
				this.#waiters = [];
				for (const [consumerId, viewport] of batch) {
					if (this.#peer.closed) break;
					await this.#peer.setViewport(consumerId, viewport).catch((error: unknown) => {
						if (!(error instanceof NotFoundError)) this.#peer.log.warn({ err: error, consumerId }, 'viewport not applied');
					});
				}
				for (const resolve of waiters) resolve();
			}
		} finally {
			this.#running = false;
			for (const resolve of this.#waiters.splice(0)) resolve();
			this.#pending.clear();
		}
	}
}
