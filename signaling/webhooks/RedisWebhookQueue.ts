/**
 * The webhook queue on Redis (when `redis.url` is set): a sorted set of delivery ids by
 * due time and a hash of deliveries. Several processes may share it: `due()` claims a
 * delivery by moving its due time forward atomically (a Lua script), so two processes do
 * not send the same delivery at the same time (a crashed claimer's delivery comes due
 * again after the lease).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Delivery, WebhookQueue } from './types.ts';

export interface RedisWebhookQueueOptions {
	url: string;
	keyPrefix?: string;
	/** How long a claimed delivery is hidden from other processes (ms). */
	leaseMs?: number;
	logger?: Logger;
}

const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
	local d = redis.call('HGET', KEYS[2], id)
	if d then
		redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[3]), id)
		table.insert(out, d)
	else
		redis.call('ZREM', KEYS[1], id)
	end
end
return out
`;

export class RedisWebhookQueue implements WebhookQueue {
	readonly #redis: Redis;
	readonly #due: string;
	readonly #items: string;
	readonly #leaseMs: number;

	constructor(options: RedisWebhookQueueOptions) {
		const prefix = options.keyPrefix ?? 'parley:';
		this.#due = `${prefix}webhooks:due`;
		this.#items = `${prefix}webhooks:items`;
		this.#leaseMs = options.leaseMs ?? 60_000;
		this.#redis = new Redis(options.url, {
			connectTimeout: 2000,
			commandTimeout: 2000,
			maxRetriesPerRequest: 1,
			retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
		});
		this.#redis.on('error', (error: Error) => options.logger?.warn({ err: error }, 'webhook queue: Redis connection error'));
	}

	async add(deliveries: Delivery[]): Promise<void> {
		if (deliveries.length === 0) return;
		const multi = this.#redis.multi();
		for (const d of deliveries) {
			multi.hsetnx(this.#items, d.id, JSON.stringify(d));
			multi.zadd(this.#due, 'NX', d.dueAt, d.id);
		}
		await multi.exec();
	}

	async due(now: number, limit: number): Promise<Delivery[]> {
		const raw = (await this.#redis.eval(CLAIM, 2, this.#due, this.#items, now, limit, this.#leaseMs)) as string[];
		return raw.map((s) => JSON.parse(s) as Delivery);
	}

	async remove(id: string): Promise<void> {
		await this.#redis.multi().zrem(this.#due, id).hdel(this.#items, id).exec();
	}

	async retryAt(id: string, dueAt: number, attempts: number): Promise<void> {
		const raw = await this.#redis.hget(this.#items, id);
		if (!raw) return;
		const d = { ...(JSON.parse(raw) as Delivery), dueAt, attempts };
		await this.#redis.multi().hset(this.#items, id, JSON.stringify(d)).zadd(this.#due, 'XX', dueAt, id).exec();
	}

	async size(): Promise<number> {
		return this.#redis.zcard(this.#due);
	}

	async close(): Promise<void> {
		this.#redis.disconnect();
	}
}
