/**
 * MessageStore on Redis (ioredis), for several signaling processes sharing one Redis.
 *
 * Keys of a room R (prefix P, default 'parley:'; the {R} hash tag keeps a room's keys in one
 * cluster slot):
 *   P chat:{R}:seq       string  the room's seq counter (kept by deleteRoom: seqs are never reused)
 *   P chat:{R}:msg       hash    seq → message JSON
 *   P chat:{R}:from      hash    seq → sender identity (for receipt checks inside Lua)
 *   P chat:{R}:pub       zset    seqs of room messages (score = member = seq)
 *   P chat:{R}:dm:<id>   zset    seqs of the direct messages <id> sent or received
 *   P chat:{R}:dmusers   set     identities that have a dm zset (for deleteRoom)
 *   P chat:{R}:idem      hash    JSON [from, id] → seq (idempotency)
 *   P chat:{R}:dlv       zset    "<seq>\n<identity>" scored by seq: explicit delivery receipts
 *   P chat:{R}:reads     hash    identity → read watermark
 *   P chat:{R}:dlvmarks  hash    identity → delivered watermark
 *   P presence:{R}       hash    identity → presence record JSON (see PresenceRecords)
 *   P chat:epoch         string  the store's epoch (created with the first write or read of it;
 *                                a Redis restarted from empty gets a new one, see MessageStore.epoch)
 *
 * Failing fast: an owned connection is built with a short connect and command timeout, no
 * offline queue and one retry per request, so a missing Redis answers StoreUnavailableError
 * within ~2 s instead of queueing commands. A command issued while the connection is being
 * (re)established waits for it at most `readyWaitMs`.
 *
 * Every write that touches several keys is one Lua script (atomic); reads that need a
 * consistent view are a script or a MULTI.
 */
import { createHash } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import {
	type AppendInput,
	type AppendResult,
	type DeliveredRecord,
	type PresenceRecord,
	isPresenceState,
	type MessageReceipts,
	type MessageStore,
	type MessageStoreOptions,
	type ReadResult,
	type StoreHealth,
	type StoredMessage,
	StoreUnavailableError,
	MessageValidationError,
	newEpoch,
	checkIdentity,
	checkRoom,
	checkSeq,
	clampLimit,
	computeReceipts,
	normalizeSeqList,
	parseAppendInput,
} from './MessageStore.ts';

export interface RedisMessageStoreOptions extends MessageStoreOptions {
	/** A redis:// URL; the store opens (and on close() quits) its own connection. */
	url?: string;
	/** Or an existing client; close() leaves it open. */
	client?: Redis;
	/** Key prefix, default 'parley:'. */
	keyPrefix?: string;
	/** Connection errors of an owned client are logged here (otherwise ioredis prints them). */
	logger?: Logger;
	/** Owned connection: connect timeout and per-command timeout (ms). Default 2000. */
	timeoutMs?: number;
	/** How long a command waits for a connection being (re)established (ms). Default 1000. */
	readyWaitMs?: number;
	/**
	 * 'disk': acknowledged messages must be on disk, so Redis must run with appendonly yes and
	 * appendfsync always; checked on every (re)connect, a mismatch is logged as an error and
	 * reported by health(). 'process' (default for a borrowed client): no check.
	 */
	durability?: 'disk' | 'process';
}

/** Redis error replies that mean "not now" rather than "wrong". */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|MISCONF|NOREPLICAS|TRYAGAIN|CLUSTERDOWN)\b/;

/** Connection-level failures (and transient error replies) become StoreUnavailableError. */
function classify(error: unknown): unknown {
	if (error instanceof StoreUnavailableError || error instanceof MessageValidationError || !(error instanceof Error)) return error;
	if (error instanceof ReplyError && !TRANSIENT_REPLIES.test(error.message)) return error;
	return new StoreUnavailableError(`chat store: Redis: ${error.message}`, { cause: error });
}

class LuaScript {
	readonly source: string;
	readonly sha: string;

	constructor(source: string) {
		this.source = source;
		this.sha = createHash('sha1').update(source).digest('hex');
	}

	async run(client: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
		try {
			return await client.evalsha(this.sha, keys.length, ...keys, ...args);
		} catch (error) {
			if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
			return client.eval(this.source, keys.length, ...keys, ...args);
		}
	}
}

/**
 * KEYS: seq, msg, from, pub, idem, dmusers, epoch
 * ARGV: idempotency field, body JSON without seq ('{"id":…}'), from, to ('' = room message), dm key prefix,
 *       a new epoch (set when the store has none: the first write after Redis lost everything)
 * Returns {1, stored JSON, epoch} for a new message, {0, stored JSON, epoch} for a duplicate.
 */
const APPEND = new LuaScript(`
local epoch = redis.call('GET', KEYS[7])
if not epoch then
	epoch = ARGV[6]
	redis.call('SET', KEYS[7], epoch)
end
local existing = redis.call('HGET', KEYS[5], ARGV[1])
if existing then
	local stored = redis.call('HGET', KEYS[2], existing)
	if not stored then return redis.error_reply('chat store: idempotency key without message') end
	return {0, stored, epoch}
end
local seq = redis.call('INCR', KEYS[1])
local stored = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('HSET', KEYS[2], seq, stored)
redis.call('HSET', KEYS[3], seq, ARGV[3])
redis.call('HSET', KEYS[5], ARGV[1], seq)
if ARGV[4] == '' then
	redis.call('ZADD', KEYS[4], seq, seq)
else
	redis.call('ZADD', ARGV[5] .. ARGV[3], seq, seq)
	redis.call('ZADD', ARGV[5] .. ARGV[4], seq, seq)
	redis.call('SADD', KEYS[6], ARGV[3], ARGV[4])
end
return {1, stored, epoch}
`);

/** KEYS: epoch; ARGV: a new epoch to set when there is none. Returns the epoch. */
const EPOCH = new LuaScript(`
local epoch = redis.call('GET', KEYS[1])
if epoch then return epoch end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`);

/**
 * Merge the viewer's room messages and direct messages in seq order and fetch them.
 * KEYS: msg, pub, dm:<viewer>
 * ARGV: first score bound, second score bound (as ZRANGEBYSCORE / ZREVRANGEBYSCORE take them),
 *       limit, 'asc' | 'desc'
 */
const PAGE = new LuaScript(`
local asc = ARGV[4] == 'asc'
local cmd = asc and 'ZRANGEBYSCORE' or 'ZREVRANGEBYSCORE'
local n = tonumber(ARGV[3])
local a = redis.call(cmd, KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, n)
local b = redis.call(cmd, KEYS[3], ARGV[1], ARGV[2], 'LIMIT', 0, n)
local out = {}
local i, j = 1, 1
while #out < n do
	local x, y = a[i], b[j]
	if x == nil and y == nil then break end
	local takeA
	if y == nil then takeA = true
	elseif x == nil then takeA = false
	else
		local nx, ny = tonumber(x), tonumber(y)
		if nx == ny then j = j + 1; takeA = true
		elseif asc then takeA = nx < ny
		else takeA = nx > ny end
	end
	if takeA then out[#out + 1] = x; i = i + 1 else out[#out + 1] = y; j = j + 1 end
end
if #out == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(out))
`);

/**
 * KEYS: from, pub, dm:<identity>, reads, dlv
 * ARGV: seq, identity
 */
const MARK_DELIVERED = new LuaScript(`
local sender = redis.call('HGET', KEYS[1], ARGV[1])
if not sender or sender == ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
local upTo = redis.call('HGET', KEYS[4], ARGV[2])
if upTo and tonumber(upTo) >= tonumber(ARGV[1]) then return 0 end
return redis.call('ZADD', KEYS[5], 'NX', ARGV[1], ARGV[1] .. '\\n' .. ARGV[2])
`);

/**
 * MARK_DELIVERED for many seqs in one script.
 * KEYS: from, pub, dm:<identity>, reads, dlv
 * ARGV: identity, seq, seq, …
 * Returns {seq, sender, seq, sender, …} of the deliveries newly recorded.
 */
const MARK_DELIVERED_MANY = new LuaScript(`
local identity = ARGV[1]
local upTo = tonumber(redis.call('HGET', KEYS[4], identity) or '0')
local out = {}
for i = 2, #ARGV do
	local seq = ARGV[i]
	local sender = redis.call('HGET', KEYS[1], seq)
	if sender and sender ~= identity and tonumber(seq) > upTo
		and (redis.call('ZSCORE', KEYS[2], seq) or redis.call('ZSCORE', KEYS[3], seq))
		and redis.call('ZADD', KEYS[5], 'NX', seq, seq .. '\\n' .. identity) == 1 then
		out[#out + 1] = seq
		out[#out + 1] = sender
	end
end
return out
`);

/**
 * KEYS: seq, reads
 * ARGV: identity, upToSeq
 * Returns {watermark, advanced 0|1}.
 */
const MARK_READ = new LuaScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local target = math.min(tonumber(ARGV[2]), last)
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if target > current then
	redis.call('HSET', KEYS[2], ARGV[1], target)
	return {target, 1}
end
return {current, 0}
`);

/**
 * KEYS: msg, from, pub, idem, dmusers, dlv, reads, dlvmarks
 * ARGV: dm key prefix
 */
const DELETE_ROOM = new LuaScript(`
local users = redis.call('SMEMBERS', KEYS[5])
for _, identity in ipairs(users) do redis.call('DEL', ARGV[1] .. identity) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
return 1
`);

function parseMessage(json: string): StoredMessage {
	const raw = JSON.parse(json) as StoredMessage;
	return {
		id: raw.id,
		room: raw.room,
		seq: raw.seq,
		ts: raw.ts,
		from: raw.from,
		fromName: raw.fromName,
		to: raw.to ?? null,
		text: raw.text,
		attachment: raw.attachment ?? null,
	};
}

function toInt(value: unknown): number {
	const n = typeof value === 'number' ? value : Number(value);
	if (!Number.isSafeInteger(n)) throw new Error(`chat store: unexpected Redis reply ${String(value)}`);
	return n;
}

export class RedisMessageStore implements MessageStore {
	readonly #redis: Redis;
	readonly #owned: boolean;
	readonly #prefix: string;
	readonly #now: () => number;
	readonly #readyWaitMs: number;
	readonly #timeoutMs: number;
	readonly #durability: 'disk' | 'process';
	/** Why Redis does not give the durability asked for (null: it does, or not checked yet). */
	#durabilityGap: string | null = null;
	#closed = false;

	constructor(options: RedisMessageStoreOptions) {
		this.#now = options.now ?? Date.now;
		this.#prefix = options.keyPrefix ?? 'parley:';
		this.#readyWaitMs = options.readyWaitMs ?? 1000;
		this.#timeoutMs = options.timeoutMs ?? 2000;
		this.#durability = options.durability ?? (options.client ? 'process' : 'disk');
		if (options.client) {
			this.#redis = options.client;
			this.#owned = false;
		} else if (options.url) {
			this.#redis = new Redis(options.url, {
				connectTimeout: this.#timeoutMs,
				commandTimeout: this.#timeoutMs,
				// Fail instead of queueing while disconnected; reconnect in the background.
				enableOfflineQueue: false,
				maxRetriesPerRequest: 1,
				retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
			});
			this.#owned = true;
			const logger = options.logger;
			// Connection errors surface as StoreUnavailableError and in health(); log them, never crash.
			this.#redis.on('error', (error: Error) => logger?.warn({ err: error }, 'chat store: Redis connection error'));
			if (this.#durability === 'disk') this.#redis.on('ready', () => void this.#checkDurability(logger));
		} else {
			throw new Error('RedisMessageStore needs a url or a client');
		}
	}

	#keys(room: string) {
		const base = `${this.#prefix}chat:{${room}}:`;
		return {
			seq: `${base}seq`,
			msg: `${base}msg`,
			from: `${base}from`,
			pub: `${base}pub`,
			dmPrefix: `${base}dm:`,
			dmusers: `${base}dmusers`,
			idem: `${base}idem`,
			dlv: `${base}dlv`,
			reads: `${base}reads`,
			dlvmarks: `${base}dlvmarks`,
		};
	}

	#open(): void {
		if (this.#closed) throw new StoreUnavailableError('chat store: the Redis message store is closed');
	}

	/**
	 * Run store commands: wait (bounded) for a connection being established, and turn
	 * connection failures into StoreUnavailableError.
	 */
	async #run<T>(fn: () => Promise<T>): Promise<T> {
		this.#open();
		try {
			await this.#ready();
			return await fn();
		} catch (error) {
			throw classify(error);
		}
	}

	async #ready(): Promise<void> {
		const redis = this.#redis;
		if (redis.status === 'ready') return;
		if (redis.status === 'end' || redis.status === 'close') {
			throw new StoreUnavailableError(`chat store: Redis connection ${redis.status}`);
		}
		await new Promise<void>((resolve, reject) => {
			const done = (error?: Error): void => {
				clearTimeout(timer);
				redis.off('ready', onReady);
				if (error) reject(error);
				else resolve();
			};
			const onReady = (): void => done();
			const timer = setTimeout(() => done(new StoreUnavailableError('chat store: Redis is not reachable')), this.#readyWaitMs);
			redis.on('ready', onReady);
		});
	}

	async append(input: AppendInput): Promise<AppendResult> {
		this.#open();
		const m = parseAppendInput(input);
		const k = this.#keys(m.room);
		const body = JSON.stringify({
			id: m.id,
			room: m.room,
			ts: this.#now(),
			from: m.from,
			fromName: m.fromName,
			to: m.to,
			text: m.text,
			attachment: m.attachment,
		});
		const reply = await this.#run(() =>
			APPEND.run(
				this.#redis,
				[k.seq, k.msg, k.from, k.pub, k.idem, k.dmusers, this.#epochKey],
				[JSON.stringify([m.from, m.id]), body, m.from, m.to ?? '', k.dmPrefix, newEpoch()],
			),
		);
		if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[1] !== 'string' || typeof reply[2] !== 'string') {
			throw new Error('chat store: unexpected reply to append');
		}
		return { message: parseMessage(reply[1]), duplicate: toInt(reply[0]) === 0, epoch: reply[2] };
	}

	async after(room: string, viewer: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(viewer, 'viewer');
		checkSeq(afterSeq, 'afterSeq', 0);
		const n = clampLimit(limit);
		if (n === 0) return [];
		return this.#page(room, viewer, `(${afterSeq}`, '+inf', n, 'asc');
	}

	async before(room: string, viewer: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(viewer, 'viewer');
		if (beforeSeq !== null) checkSeq(beforeSeq, 'beforeSeq', 1);
		const n = clampLimit(limit);
		if (n === 0) return [];
		const newestFirst = await this.#page(room, viewer, beforeSeq === null ? '+inf' : `(${beforeSeq}`, '-inf', n, 'desc');
		return newestFirst.reverse();
	}

	async #page(room: string, viewer: string, first: string, second: string, n: number, dir: 'asc' | 'desc'): Promise<StoredMessage[]> {
		const k = this.#keys(room);
		const reply = await this.#run(() => PAGE.run(this.#redis, [k.msg, k.pub, k.dmPrefix + viewer], [first, second, n, dir]));
		if (!Array.isArray(reply)) throw new Error('chat store: unexpected reply to a page query');
		return reply.filter((item): item is string => typeof item === 'string').map(parseMessage);
	}

	async get(room: string, seq: number): Promise<StoredMessage | null> {
		this.#open();
		checkRoom(room);
		checkSeq(seq, 'seq', 1);
		const json = await this.#run(() => this.#redis.hget(this.#keys(room).msg, String(seq)));
		return json === null ? null : parseMessage(json);
	}

	async getById(room: string, from: string, id: string): Promise<StoredMessage | null> {
		this.#open();
		checkRoom(room);
		checkIdentity(from, 'from');
		const k = this.#keys(room);
		const json = await this.#run(async () => {
			const seq = await this.#redis.hget(k.idem, JSON.stringify([from, id]));
			return seq === null ? null : this.#redis.hget(k.msg, seq);
		});
		return json === null ? null : parseMessage(json);
	}

	async markDelivered(room: string, seq: number, identity: string): Promise<boolean> {
		this.#open();
		checkRoom(room);
		checkSeq(seq, 'seq', 1);
		checkIdentity(identity);
		const k = this.#keys(room);
		const reply = await this.#run(() => MARK_DELIVERED.run(this.#redis, [k.from, k.pub, k.dmPrefix + identity, k.reads, k.dlv], [seq, identity]));
		return toInt(reply) > 0;
	}

	async markDeliveredMany(room: string, seqs: readonly number[], identity: string): Promise<DeliveredRecord[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(identity);
		const wanted = normalizeSeqList(seqs);
		if (wanted.length === 0) return [];
		const k = this.#keys(room);
		const reply = await this.#run(() =>
			MARK_DELIVERED_MANY.run(this.#redis, [k.from, k.pub, k.dmPrefix + identity, k.reads, k.dlv], [identity, ...wanted]),
		);
		if (!Array.isArray(reply)) throw new Error('chat store: unexpected reply to markDeliveredMany');
		const out: DeliveredRecord[] = [];
		for (let i = 0; i + 1 < reply.length; i += 2) out.push({ seq: toInt(reply[i]), from: String(reply[i + 1]) });
		return out;
	}

	async readWatermarks(room: string): Promise<Record<string, number>> {
		this.#open();
		checkRoom(room);
		const all = await this.#run(() => this.#redis.hgetall(this.#keys(room).reads));
		const out: Record<string, number> = {};
		for (const [identity, upTo] of Object.entries(all)) out[identity] = toInt(upTo);
		return out;
	}

	async markDeliveredUpTo(room: string, upToSeq: number, identity: string): Promise<{ deliveredUpTo: number; advanced: boolean }> {
		this.#open();
		checkRoom(room);
		checkSeq(upToSeq, 'upToSeq', 0);
		checkIdentity(identity);
		const k = this.#keys(room);
		// The same script as markRead: a clamped, never-backwards watermark in a hash.
		const reply = await this.#run(() => MARK_READ.run(this.#redis, [k.seq, k.dlvmarks], [identity, upToSeq]));
		if (!Array.isArray(reply) || reply.length !== 2) throw new Error('chat store: unexpected reply to markDeliveredUpTo');
		return { deliveredUpTo: toInt(reply[0]), advanced: toInt(reply[1]) === 1 };
	}

	async deliveredWatermarks(room: string): Promise<Record<string, number>> {
		this.#open();
		checkRoom(room);
		const all = await this.#run(() => this.#redis.hgetall(this.#keys(room).dlvmarks));
		const out: Record<string, number> = {};
		for (const [identity, upTo] of Object.entries(all)) out[identity] = toInt(upTo);
		return out;
	}

	async markRead(room: string, upToSeq: number, identity: string): Promise<ReadResult> {
		this.#open();
		checkRoom(room);
		checkSeq(upToSeq, 'upToSeq', 0);
		checkIdentity(identity);
		const k = this.#keys(room);
		const reply = await this.#run(() => MARK_READ.run(this.#redis, [k.seq, k.reads], [identity, upToSeq]));
		if (!Array.isArray(reply) || reply.length !== 2) throw new Error('chat store: unexpected reply to markRead');
		return { readUpTo: toInt(reply[0]), advanced: toInt(reply[1]) === 1 };
	}

	async readUpTo(room: string, identity: string): Promise<number> {
		this.#open();
		checkRoom(room);
		checkIdentity(identity);
		const value = await this.#run(() => this.#redis.hget(this.#keys(room).reads, identity));
		return value === null ? 0 : toInt(value);
	}

	async receipts(room: string, seqs: readonly number[], from?: string): Promise<MessageReceipts[]> {
		this.#open();
		checkRoom(room);
		const wanted = normalizeSeqList(seqs);
		if (wanted.length === 0) return [];
		const k = this.#keys(room);
		const multi = this.#redis.multi();
		multi.hmget(k.msg, ...wanted.map(String));
		multi.hgetall(k.reads);
		multi.hgetall(k.dlvmarks);
		for (const seq of wanted) multi.zrangebyscore(k.dlv, seq, seq);
		const replies = await this.#run(() => multi.exec());
		if (!replies) throw new Error('chat store: receipts transaction aborted');
		const results = replies.map(([error, value]) => {
			if (error) throw error;
			return value;
		});
		const messages = results[0] as (string | null)[];
		const reads = Object.entries(results[1] as Record<string, string>).map(([identity, upTo]) => [identity, toInt(upTo)] as const);
		const marks = Object.entries(results[2] as Record<string, string>).map(([identity, upTo]) => [identity, toInt(upTo)] as const);
		const out: MessageReceipts[] = [];
		wanted.forEach((seq, index) => {
			const json = messages[index];
			if (json == null) return;
			const message = parseMessage(json);
			if (from !== undefined && message.from !== from) return;
			const delivered = (results[index + 3] as string[]).map((member) => member.slice(member.indexOf('\n') + 1));
			out.push(computeReceipts(message, reads, delivered, marks));
		});
		return out;
	}

	async lastSeq(room: string): Promise<number> {
		this.#open();
		checkRoom(room);
		const value = await this.#run(() => this.#redis.get(this.#keys(room).seq));
		return value === null ? 0 : toInt(value);
	}

	async deleteRoom(room: string): Promise<void> {
		this.#open();
		checkRoom(room);
		const k = this.#keys(room);
		await this.#run(() => DELETE_ROOM.run(this.#redis, [k.msg, k.from, k.pub, k.idem, k.dmusers, k.dlv, k.reads, k.dlvmarks], [k.dmPrefix]));
	}

	#presenceKey(room: string): string {
		return `${this.#prefix}presence:{${room}}`;
	}

	async savePresence(room: string, record: PresenceRecord): Promise<void> {
		checkRoom(room);
		checkIdentity(record.identity);
		const json = JSON.stringify({ identity: record.identity, name: record.name, state: record.state, lastSeen: record.lastSeen });
		await this.#run(() => this.#redis.hset(this.#presenceKey(room), record.identity, json));
	}

	async loadPresence(room: string): Promise<PresenceRecord[]> {
		checkRoom(room);
		const all = await this.#run(() => this.#redis.hgetall(this.#presenceKey(room)));
		return Object.values(all).flatMap((json) => {
			const r = JSON.parse(json) as Partial<PresenceRecord>;
			if (typeof r.identity !== 'string' || typeof r.name !== 'string' || typeof r.lastSeen !== 'number' || !isPresenceState(r.state)) return [];
			return [{ identity: r.identity, name: r.name, state: r.state, lastSeen: r.lastSeen }];
		});
	}

	async isMember(room: string, identity: string): Promise<boolean> {
		checkRoom(room);
		checkIdentity(identity);
		return (await this.#run(() => this.#redis.hexists(this.#presenceKey(room), identity))) === 1;
	}

	get #epochKey(): string {
		return `${this.#prefix}chat:epoch`;
	}

	async epoch(): Promise<string> {
		const reply = await this.#run(() => EPOCH.run(this.#redis, [this.#epochKey], [newEpoch()]));
		if (typeof reply !== 'string') throw new Error('chat store: unexpected reply to epoch');
		return reply;
	}

	/** With durability 'disk': does Redis fsync every write before it answers? */
	async #checkDurability(logger: Logger | undefined): Promise<void> {
		try {
			const [, appendonly] = (await this.#redis.config('GET', 'appendonly')) as string[];
			const [, appendfsync] = (await this.#redis.config('GET', 'appendfsync')) as string[];
			this.#durabilityGap =
				appendonly === 'yes' && appendfsync === 'always'
					? null
					: `Redis runs appendonly ${appendonly} appendfsync ${appendfsync}: acknowledged messages can be lost on a host crash (set appendonly yes, appendfsync always, or PARLEY_CHAT_DURABILITY=process)`;
			if (this.#durabilityGap) logger?.error(this.#durabilityGap);
		} catch (error) {
			// CONFIG may be disabled (managed Redis): say that it could not be checked.
			this.#durabilityGap = `could not check Redis persistence: ${error instanceof Error ? error.message : String(error)}`;
			logger?.warn(this.#durabilityGap);
		}
	}

	async health(): Promise<StoreHealth> {
		const started = performance.now();
		const latencyMs = () => +(performance.now() - started).toFixed(2);
		try {
			const epoch = await this.epoch();
			if (this.#durabilityGap) return { ok: true, engine: 'redis', latencyMs: latencyMs(), epoch, warning: this.#durabilityGap };
			return { ok: true, engine: 'redis', latencyMs: latencyMs(), epoch };
		} catch (error) {
			return { ok: false, engine: 'redis', latencyMs: latencyMs(), epoch: null, error: error instanceof Error ? error.message : String(error) };
		}
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		if (this.#owned) {
			try {
				await this.#redis.quit();
			} catch {
				this.#redis.disconnect();
			}
		}
	}
}
