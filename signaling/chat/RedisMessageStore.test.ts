/**
 * Runs against PARLEY_TEST_REDIS_URL when set; otherwise starts a throwaway redis-server on a
 * free loopback port (no persistence) and stops it afterwards. Never skips.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createMessageStore } from './index.ts';
import { messageStoreContract } from '../../test/messageStoreContract.ts';
import { redisForTests, startRedisOnce } from '../../test/redis.ts';
import { RedisMessageStore } from './RedisMessageStore.ts';
import { StoreUnavailableError } from './MessageStore.ts';
import { freePort } from '../../test/ports.ts';

const redis = await redisForTests();
const admin = new Redis(redis.url);
after(async () => {
	await admin.quit();
	await redis.stop();
});

let envCounter = 0;
function uniquePrefix(): string {
	return `parley-test:${process.pid}:${Date.now()}:${++envCounter}:`;
}

async function keysWithPrefix(prefix: string): Promise<string[]> {
	const keys: string[] = [];
	let cursor = '0';
	do {
		const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		cursor = next;
		keys.push(...batch);
	} while (cursor !== '0');
	return keys;
}

async function deleteKeys(prefix: string): Promise<void> {
	const keys = await keysWithPrefix(prefix);
	if (keys.length) await admin.del(...keys);
}

messageStoreContract({
	name: 'Redis',
	async createEnv() {
		const keyPrefix = uniquePrefix();
		return {
			open: async (options) => new RedisMessageStore({ url: redis.url, keyPrefix, ...options }),
			dispose: () => deleteKeys(keyPrefix),
		};
	},
});

describe('RedisMessageStore specifics', () => {
	test('createMessageStore with a Redis URL stores everything under the key prefix', async () => {
		const keyPrefix = uniquePrefix();
		const store = createMessageStore({ redisUrl: redis.url, dataDir: '/nonexistent/never-created', keyPrefix });
		try {
			assert.ok(store instanceof RedisMessageStore);
			await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'room' });
			await store.append({ id: 'b', room: 'r', from: 'alice', fromName: 'A', text: 'dm', to: 'bob' });
			await store.markDelivered('r', 1, 'bob');
			await store.markRead('r', 2, 'bob');
			const keys = await keysWithPrefix(keyPrefix);
			assert.ok(keys.length >= 8, `expected the room's keys, got ${keys.join(', ')}`);
			// Every key is the room's, except the store-wide epoch.
			for (const key of keys) assert.ok(key.startsWith(`${keyPrefix}chat:{r}:`) || key === `${keyPrefix}chat:epoch`, key);

			await store.deleteRoom('r');
			assert.deepEqual(
				(await keysWithPrefix(keyPrefix)).sort(),
				[`${keyPrefix}chat:epoch`, `${keyPrefix}chat:{r}:seq`],
				'only the seq counter (and the epoch) is left',
			);
		} finally {
			await store.close();
			await deleteKeys(keyPrefix);
		}
	});

	test('the default key prefix is parley:', async () => {
		const room = `default-prefix-${process.pid}-${Date.now()}`;
		const store = new RedisMessageStore({ url: redis.url });
		try {
			await store.append({ id: 'a', room, from: 'alice', fromName: 'A', text: 'x' });
			assert.equal(await admin.get(`parley:chat:{${room}}:seq`), '1');
			await store.deleteRoom(room);
		} finally {
			await store.close();
			await admin.del(`parley:chat:{${room}}:seq`);
		}
	});

	test('works after the script cache is flushed, and leaves a borrowed client open', async () => {
		const keyPrefix = uniquePrefix();
		const client = new Redis(redis.url);
		const store = new RedisMessageStore({ client, keyPrefix });
		try {
			await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'one' });
			await admin.script('FLUSH');
			const { message, duplicate } = await store.append({ id: 'b', room: 'r', from: 'alice', fromName: 'A', text: 'two' });
			assert.equal(duplicate, false);
			assert.equal(message.seq, 2);
			await store.close();
			assert.equal(await client.ping(), 'PONG');
		} finally {
			await client.quit();
			await deleteKeys(keyPrefix);
		}
	});

	test("durability 'disk' checks that Redis fsyncs every write and says so in health() when it does not", async () => {
		const disk = new RedisMessageStore({ url: redis.url, keyPrefix: uniquePrefix(), durability: 'disk' });
		const loose = new RedisMessageStore({ url: redis.url, keyPrefix: uniquePrefix(), durability: 'process' });
		try {
			let health = await disk.health();
			for (let i = 0; i < 20 && !health.warning; i++) {
				await new Promise((r) => setTimeout(r, 50));
				health = await disk.health();
			}
			assert.equal(health.ok, true);
			assert.match(health.warning ?? '', /appendonly no appendfsync everysec/, 'the test Redis runs without AOF');
			assert.equal((await loose.health()).warning, undefined);
		} finally {
			await disk.close();
			await loose.close();
		}
	});

	test('Redis gone: requests fail fast as unavailable, health says so; back (empty): a new epoch, seqs restart', async () => {
		const port = await freePort();
		let server = await startRedisOnce(port);
		const stop = () =>
			new Promise<void>((resolve) => {
				if (server.exitCode !== null) return resolve();
				server.once('exit', () => resolve());
				server.kill('SIGKILL');
			});
		const store = new RedisMessageStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 500, readyWaitMs: 300 });
		try {
			const { epoch } = await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'before' });
			assert.equal((await store.health()).ok, true);
			await stop();
			for (const op of [
				() => store.append({ id: 'b', room: 'r', from: 'alice', fromName: 'A', text: 'during' }),
				() => store.after('r', 'bob', 0, 10),
				() => store.lastSeq('r'),
				() => store.epoch(),
			]) {
				const started = performance.now();
				await assert.rejects(op(), StoreUnavailableError);
				assert.ok(performance.now() - started < 1500, `failed fast (${Math.round(performance.now() - started)} ms)`);
			}
			const health = await store.health();
			assert.equal(health.ok, false);
			assert.ok(health.error);

			server = await startRedisOnce(port); // no persistence: everything is gone
			let result;
			for (let i = 0; i < 50 && !result; i++) {
				result = await store.append({ id: 'b', room: 'r', from: 'alice', fromName: 'A', text: 'after' }).catch((e: unknown) => {
					if (!(e instanceof StoreUnavailableError)) throw e;
					return undefined;
				});
				if (!result) await new Promise((r) => setTimeout(r, 100));
			}
			assert.ok(result, 'the store reconnected by itself');
			assert.equal(result.message.seq, 1, 'an empty Redis starts seqs again');
			assert.notEqual(result.epoch, epoch, 'and says so with a new epoch');
			assert.equal(await store.epoch(), result.epoch);
		} finally {
			await store.close();
			await stop();
		}
	});
});
