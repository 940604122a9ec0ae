/**
 * Sends queued webhook deliveries: signed POSTs, retried with exponential backoff until a
 * 2xx (at-least-once), given up only after `retryForMs` (logged as an error). The queue is
 * durable, so deliveries pending at a restart are sent after it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { signWebhook, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from './signature.ts';
import type { Delivery, WebhookEvent, WebhookQueue } from './types.ts';

export interface WebhookDispatcherOptions {
	queue: WebhookQueue;
	urls: readonly string[];
	secret: string;
	initialBackoffMs: number;
	maxBackoffMs: number;
	retryForMs: number;
	timeoutMs: number;
	logger: Logger;
	/** How often the queue is polled for due deliveries (ms); new events are sent at once. */
	pollMs?: number;
	/** Deliveries in flight at once. */
	concurrency?: number;
	now?: () => number;
}

export interface WebhookStats {
	events: number;
	/** HTTP attempts made. */
	attempts: number;
	/** Attempts that failed (non-2xx, timeout, connection refused) and were retried. */
	retried: number;
	delivered: number;
	droppedAfterRetries: number;
	/** Delay from the event to its successful delivery (ms), p50 and max. */
	delayP50Ms: number | null;
	delayMaxMs: number | null;
}

export class WebhookDispatcher {
	readonly #o: Required<Omit<WebhookDispatcherOptions, 'now'>> & { now: () => number };
	readonly #inFlight = new Set<string>();
	readonly #sending = new Set<Promise<void>>();
	readonly #delays: number[] = [];
	#stats = { events: 0, attempts: 0, retried: 0, delivered: 0, droppedAfterRetries: 0 };
	#timer: NodeJS.Timeout | undefined;
	#running: Promise<void> | null = null;
	#again = false;
	#closed = false;

	constructor(options: WebhookDispatcherOptions) {
		this.#o = { pollMs: 500, concurrency: 8, now: Date.now, ...options };
		this.#timer = setInterval(() => this.kick(), this.#o.pollMs);
		this.#timer.unref();
		this.kick();
	}

	/** Queue an event for every URL (durably) and try to send it now. */
	async publish(event: Omit<WebhookEvent, 'id' | 'createdAt'>): Promise<WebhookEvent> {
		const now = this.#o.now();
		const full: WebhookEvent = { id: `evt_${randomUUID()}`, createdAt: now, ...event };
		const body = JSON.stringify(full);
		const deliveries: Delivery[] = this.#o.urls.map((url, i) => ({
			id: `${full.id}:${i}`,
			url,
			body,
			createdAt: now,
			dueAt: now,
			attempts: 0,
		}));
		await this.#o.queue.add(deliveries);
		this.#stats.events++;
		this.kick();
		return full;
	}

	stats(): WebhookStats {
		const sorted = [...this.#delays].sort((a, b) => a - b);
		return {
			...this.#stats,
			delayP50Ms: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null,
			delayMaxMs: sorted.length ? sorted[sorted.length - 1]! : null,
		};
	}

	/** Look for due deliveries now (coalesced). */
	kick(): void {
		if (this.#closed) return;
		if (this.#running) {
			this.#again = true;
			return;
		}
		this.#running = this.#drain()
			.catch((error: unknown) => this.#o.logger.error({ err: error }, 'webhook queue unavailable; retrying'))
			.finally(() => {
				this.#running = null;
				if (this.#again && !this.#closed) {
					this.#again = false;
					this.kick();
				}
			});
	}

	/** Deliveries waiting in the queue (due or not). */
	queueSize(): Promise<number> {
		return this.#o.queue.size();
	}

	/** Stop sending (pending deliveries stay queued); `closeQueue`: close the queue too. */
	async close(closeQueue = false): Promise<void> {
		this.#closed = true;
		clearInterval(this.#timer);
		await this.#running;
		await Promise.all([...this.#sending]);
		if (closeQueue) await this.#o.queue.close();
	}

	async #drain(): Promise<void> {
		for (;;) {
			const free = this.#o.concurrency - this.#inFlight.size;
			if (free <= 0 || this.#closed) return;
			const due = (await this.#o.queue.due(this.#o.now(), free + this.#inFlight.size)).filter((d) => !this.#inFlight.has(d.id));
			if (due.length === 0) return;
			for (const d of due.slice(0, free)) {
				this.#inFlight.add(d.id);
				const sending: Promise<void> = this.#send(d)
					.catch((error: unknown) => this.#o.logger.error({ err: error, delivery: d.id }, 'webhook queue update failed'))
					.finally(() => {
						this.#inFlight.delete(d.id);
						this.#sending.delete(sending);
						this.kick();
					});
				this.#sending.add(sending);
			}
		}
	}

	async #send(d: Delivery): Promise<void> {
		this.#stats.attempts++;
		let failure: string;
		try {
			const res = await fetch(d.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'user-agent': 'Parley-Webhooks/1',
					[WEBHOOK_ID_HEADER]: d.id.slice(0, d.id.lastIndexOf(':')),
					[WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.#o.secret, d.body, this.#o.now()),
				},
				body: d.body,
				signal: AbortSignal.timeout(this.#o.timeoutMs),
				redirect: 'manual',
			});
			await res.body?.cancel().catch(() => {});
			if (res.status >= 200 && res.status < 300) {
				await this.#o.queue.remove(d.id);
				this.#stats.delivered++;
				this.#delays.push(this.#o.now() - d.createdAt);
				if (this.#delays.length > 10_000) this.#delays.splice(0, this.#delays.length - 10_000);
				this.#o.logger.debug({ delivery: d.id, attempts: d.attempts + 1 }, 'webhook delivered');
				return;
			}
			failure = `HTTP ${res.status}`;
		} catch (error) {
			failure = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
		}
		const attempts = d.attempts + 1;
		const now = this.#o.now();
		if (now - d.createdAt >= this.#o.retryForMs) {
			await this.#o.queue.remove(d.id);
			this.#stats.droppedAfterRetries++;
			this.#o.logger.error({ delivery: d.id, url: d.url, attempts, failure }, 'webhook given up after retrying');
			return;
		}
		const backoff = Math.min(this.#o.initialBackoffMs * 2 ** Math.min(attempts - 1, 30), this.#o.maxBackoffMs);
		const jitter = backoff * 0.2 * Math.random();
		await this.#o.queue.retryAt(d.id, Math.round(now + backoff + jitter), attempts);
		this.#stats.retried++;
		this.#o.logger.info({ delivery: d.id, url: d.url, attempts, failure, retryInMs: Math.round(backoff + jitter) }, 'webhook failed; will retry');
	}
}
