/** In-meeting messaging storage: pick Redis when a URL is configured, else SQLite on disk. */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MessageStore } from './MessageStore.ts';
import { RedisMessageStore } from './RedisMessageStore.ts';
import { SqliteMessageStore } from './SqliteMessageStore.ts';

export * from './MessageStore.ts';
export { RedisMessageStore, type RedisMessageStoreOptions } from './RedisMessageStore.ts';
export { SqliteMessageStore, type SqliteMessageStoreOptions } from './SqliteMessageStore.ts';

export interface MessageStoreConfig {
	/** redis:// URL; when set (non-empty) messages live in Redis. */
	redisUrl?: string | null;
	/** Directory of the SQLite database (`messages.sqlite`), created if missing. Used without redisUrl. */
	dataDir: string;
	/** Redis key prefix, default 'parley:'. */
	keyPrefix?: string;
	logger?: Logger;
	/** Clock for message timestamps (tests). */
	now?: () => number;
	/** 'disk' (default): acknowledge once on disk; 'process': once the store has it (see config chat.durability). */
	durability?: 'disk' | 'process';
}

export const SQLITE_FILE_NAME = 'messages.sqlite';

export function createMessageStore(config: MessageStoreConfig): MessageStore {
	if (config.redisUrl) {
		return new RedisMessageStore({
			url: config.redisUrl,
			keyPrefix: config.keyPrefix,
			logger: config.logger,
			now: config.now,
			durability: config.durability,
		});
	}
	fs.mkdirSync(config.dataDir, { recursive: true });
	const file = path.join(config.dataDir, SQLITE_FILE_NAME);
	const synchronous = config.durability === 'process' ? 'normal' : 'full';
	config.logger?.info({ file, synchronous }, 'chat messages stored in SQLite');
	return new SqliteMessageStore(file, { now: config.now, synchronous });
}
