/**
 * Rate limits per person and per address, with rate-limiter-flexible: in memory on one
 * machine, on Redis (shared by every signaling process) when `redis.url` is set, with an
 * in-memory limiter as insurance when Redis is unreachable.
 *
 * Each limit allows `burst` at once and `perSecond` on average: `burst` points per
 * `burst / perSecond` seconds. Keys: `<room>:<identity>` for a person (all their sockets
 * share it), the remote address for an IP.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/index.ts';

export type LimitName = 'requests' | 'ipRequests' | 'chat' | 'typing' | 'presence';

export interface Rate {
	perSecond: number;
	burst: number;
}

export function ratesOf(config: Pick<Config, 'limits' | 'chat'>): Record<LimitName, Rate> {
	const l = config.limits;
	return {
		requests: { perSecond: l.requestsPerSecond, burst: l.requestsBurst },
		ipRequests: { perSecond: l.ipRequestsPerSecond, burst: l.ipRequestsBurst },
		chat: { perSecond: config.chat.messagesPerSecond, burst: config.chat.messagesBurst },
		typing: { perSecond: l.typingPerSecond, burst: l.typingBurst },
		presence: { perSecond: l.presencePerSecond, burst: l.presenceBurst },
	};
}

export class RateLimits {
	readonly #limiters: Record<LimitName, RateLimiterAbstract>;
	readonly #redis: Redis | undefined;

	constructor(rates: Record<LimitName, Rate>, options: { redisUrl?: string | undefined; logger?: Logger } = {}) {
		if (options.redisUrl) {
			this.#redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
			this.#redis.on('error', (err: Error) => options.logger?.warn({ err: err.message }, 'rate limits: redis error'));
		}
		const make = (name: LimitName, { perSecond, burst }: Rate): RateLimiterAbstract => {
			const opts = { keyPrefix: `parley:rl:${name}`, points: burst, duration: Math.max(burst / perSecond, 0.001) };
			const memory = new RateLimiterMemory(opts);
			return this.#redis ? new RateLimiterRedis({ ...opts, storeClient: this.#redis, insuranceLimiter: memory }) : memory;
		};
		this.#limiters = Object.fromEntries(
			(Object.entries(rates) as [LimitName, Rate][]).map(([name, rate]) => [name, make(name, rate)]),
		) as Record<LimitName, RateLimiterAbstract>;
	}

	/** Take one point of a limit for a key: false when the limit is reached. */
	async take(name: LimitName, key: string): Promise<boolean> {
		try {
			await this.#limiters[name].consume(key);
			return true;
		} catch (error) {
			if (error instanceof RateLimiterRes) return false;
			throw error;
		}
	}

	/** Resolves once the Redis connection is ready (before that, the in-memory insurance limits apply). */
	async ready(): Promise<void> {
		const redis = this.#redis;
		if (!redis || redis.status === 'ready') return;
		await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
	}

	async close(): Promise<void> {
		await this.#redis?.quit().catch(() => undefined);
	}
}
