/**
 * The revocation list: "identity X may no longer be in room R with a token issued before
 * time T". Removing a participant revokes it; a later token (issued after the revocation)
 * admits the identity again.
 *
 * Tiny interface, two engines:
 *   - FileRevocations  (embedded default): in memory, written to `<data>/revocations.json`
 *     (temp file + rename), so it survives a restart;
 *   - RedisRevocations (when `redis.url` is set): one key per entry, shared by every
 *     signaling process, with a pub/sub channel so every process ends the live sessions.
 * An entry is only needed while a token issued before it can still be valid, so entries
 * expire after the maximum token lifetime (plus the clock tolerance): the list is bounded.
 *
 * Granularity: `iat` is in seconds, so a token is refused when it was issued in the same
 * second as the revocation or earlier: a token that admits the identity again must be
 * issued at least one second after the revocation.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface Revocation {
	room: string;
	identity: string;
	/** When it was revoked (ms since the epoch). */
	revokedAt: number;
}

export type RevocationEvents = {
	/** An identity was revoked in a room (on this process or, with Redis, on another one). */
	revoked: [revocation: Revocation];
};

export interface RevocationList extends EventEmitter<RevocationEvents> {
	/** Revoke every token of `identity` for `room` issued until now. */
	revoke(room: string, identity: string): Promise<Revocation>;
	/** Whether a token of `identity` for `room` issued at `iat` (seconds; undefined: unknown) is revoked. */
	isRevoked(room: string, identity: string, iat: number | undefined): Promise<boolean>;
	close(): Promise<void>;
}

export interface RevocationOptions {
	/** Entries are kept this long (ms): the maximum token lifetime plus the clock tolerance. */
	retainMs: number;
	logger?: Logger;
	now?: () => number;
}

/** A token issued (iat, seconds) in the revocation's second or before is revoked; no iat: revoked. */
export function issuedBefore(iat: number | undefined, revokedAt: number): boolean {
	return iat === undefined || iat <= Math.floor(revokedAt / 1000);
}

export const REVOCATIONS_FILE_NAME = 'revocations.json';

/** Embedded default: memory + a JSON file in the data folder. */
export class FileRevocations extends EventEmitter<RevocationEvents> implements RevocationList {
	readonly #file: string;
	readonly #entries = new Map<string, Revocation>();
	readonly #options: RevocationOptions;
	#writing: Promise<void> = Promise.resolve();

	constructor(dataDir: string, options: RevocationOptions) {
		super();
		this.#options = options;
		fs.mkdirSync(dataDir, { recursive: true });
		this.#file = path.join(dataDir, REVOCATIONS_FILE_NAME);
		this.#load();
	}

	async revoke(room: string, identity: string): Promise<Revocation> {
		const revocation: Revocation = { room, identity, revokedAt: this.#now() };
		this.#entries.set(key(room, identity), revocation);
		this.#prune();
		await this.#save();
		this.emit('revoked', revocation);
		return revocation;
	}

	async isRevoked(room: string, identity: string, iat: number | undefined): Promise<boolean> {
		const entry = this.#entries.get(key(room, identity));
		if (!entry || entry.revokedAt + this.#options.retainMs < this.#now()) return false;
		return issuedBefore(iat, entry.revokedAt);
	}

	get size(): number {
		return this.#entries.size;
	}

	async close(): Promise<void> {
		await this.#writing;
		this.removeAllListeners();
	}

	#now(): number {
		return (this.#options.now ?? Date.now)();
	}

	#prune(): void {
		const oldest = this.#now() - this.#options.retainMs;
		for (const [k, r] of this.#entries) if (r.revokedAt < oldest) this.#entries.delete(k);
	}

	#load(): void {
		let text: string;
		try {
			text = fs.readFileSync(this.#file, 'utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
			throw error;
		}
		const list: unknown = JSON.parse(text);
		if (!Array.isArray(list)) throw new Error(`${this.#file}: not a JSON array`);
		for (const r of list as Revocation[]) {
			if (typeof r?.room === 'string' && typeof r.identity === 'string' && Number.isFinite(r.revokedAt)) {
				this.#entries.set(key(r.room, r.identity), { room: r.room, identity: r.identity, revokedAt: r.revokedAt });
			}
		}
		this.#prune();
		this.#options.logger?.info({ file: this.#file, entries: this.#entries.size }, 'revocation list loaded');
	}

	/** Writes are serialized; each writes the whole (bounded) list to a temp file, then renames it. */
	#save(): Promise<void> {
		const body = JSON.stringify([...this.#entries.values()]);
		const tmp = `${this.#file}.${process.pid}.tmp`;
		this.#writing = this.#writing.then(async () => {
			await fs.promises.writeFile(tmp, body, { mode: 0o600 });
			await fs.promises.rename(tmp, this.#file);
		});
		return this.#writing;
	}
}

export interface RedisRevocationOptions extends RevocationOptions {
	url: string;
	/** Key prefix, default 'parley:'. */
	keyPrefix?: string;
}

/** Shared by every signaling process: one key per entry (expiring), pub/sub to end live sessions everywhere. */
export class RedisRevocations extends EventEmitter<RevocationEvents> implements RevocationList {
	readonly #client: Redis;
	readonly #subscriber: Redis;
	readonly #prefix: string;
	readonly #options: RedisRevocationOptions;
	/** Settles once the subscriber listens: revocations published before that are not seen here. */
	readonly ready: Promise<void>;

	constructor(options: RedisRevocationOptions) {
		super();
		this.#options = options;
		this.#prefix = options.keyPrefix ?? 'parley:';
		this.#client = new Redis(options.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
		this.#subscriber = new Redis(options.url, { lazyConnect: false });
		for (const c of [this.#client, this.#subscriber]) {
			c.on('error', (err: Error) => options.logger?.warn({ err: err.message }, 'revocations: redis error'));
		}
		this.ready = this.#subscriber.subscribe(this.#channel).then(
			() => undefined,
			(err: unknown) => options.logger?.warn({ err }, 'revocations: cannot subscribe'),
		);
		this.#subscriber.on('message', (channel: string, message: string) => {
			if (channel !== this.#channel) return;
			try {
				const r = JSON.parse(message) as Revocation;
				if (typeof r.room === 'string' && typeof r.identity === 'string') this.emit('revoked', r);
			} catch {
				// not ours
			}
		});
	}

	get #channel(): string {
		return `${this.#prefix}revocations`;
	}

	#key(room: string, identity: string): string {
		return `${this.#prefix}revoked:{${room}}:${identity}`;
	}

	async revoke(room: string, identity: string): Promise<Revocation> {
		const revocation: Revocation = { room, identity, revokedAt: (this.#options.now ?? Date.now)() };
		await this.#client.set(this.#key(room, identity), String(revocation.revokedAt), 'PX', this.#options.retainMs);
		// Every process (this one included, through its subscriber) ends the live sessions.
		await this.#client.publish(this.#channel, JSON.stringify(revocation));
		return revocation;
	}

	async isRevoked(room: string, identity: string, iat: number | undefined): Promise<boolean> {
		const value = await this.#client.get(this.#key(room, identity));
		return value !== null && issuedBefore(iat, Number(value));
	}

	async close(): Promise<void> {
		this.removeAllListeners();
		await Promise.allSettled([this.#client.quit(), this.#subscriber.quit()]);
	}
}

export function createRevocationList(options: RevocationOptions & { dataDir: string; redisUrl?: string | null }): RevocationList {
	if (options.redisUrl) return new RedisRevocations({ ...options, url: options.redisUrl });
	return new FileRevocations(options.dataDir, options);
}

function key(room: string, identity: string): string {
	return `${room}\u0000${identity}`;
}
