/**
 * A meeting's moderation state in Redis (cluster with placement), so that it follows the room:
 * the host node writes the meeting's record (settings, roles, admitted people, hands, blocks)
 * at every change, and a node that takes the room over after a failover reads it before
 * anyone arrives. A meeting that ends normally (idle, ended by a host, the node drained)
 * deletes its record: the next meeting in the room starts from the defaults, as on one node.
 *
 * Key: `parley:meeting:{<room>}` (JSON, expires after `ttlMs` without a write).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Meeting, MeetingRecord } from '../meeting/Meeting.ts';

export interface MeetingRecordsOptions {
	redis: Redis;
	ttlMs: number;
	keyPrefix?: string;
	log: Logger;
}

export class MeetingRecords {
	readonly #options: MeetingRecordsOptions;
	readonly #prefix: string;

	constructor(options: MeetingRecordsOptions) {
		this.#options = options;
		this.#prefix = options.keyPrefix ?? 'parley:';
	}

	async load(room: string): Promise<MeetingRecord | null> {
		const text = await this.#options.redis.get(this.#key(room));
		if (text === null) return null;
		try {
			const record = JSON.parse(text) as MeetingRecord;
			const ok =
				typeof record.settings === 'object' &&
				Array.isArray(record.roles) &&
				Array.isArray(record.known) &&
				Array.isArray(record.hands) &&
				Array.isArray(record.blocked);
			return ok ? record : null;
		} catch {
			return null;
		}
	}

	/**
	 * Write the meeting's record at each change (coalesced, in order) while this node hosts the
	 * room (`hosted()`): a copy of a spanning room on another node keeps its own meeting in memory
	 * and never writes over the host's record. Delete it when the meeting closes while this node
	 * still hosts the room, not when the room moved away.
	 */
	bind(meeting: Meeting, hosted: () => boolean): void {
		const { redis, ttlMs, log } = this.#options;
		const key = this.#key(meeting.id);
		let chain: Promise<unknown> = Promise.resolve();
		let pending = false;
		meeting.on('recordchange', () => {
			if (pending || !hosted()) return;
			pending = true;
			chain = chain.then(() => {
				pending = false;
				return redis.set(key, JSON.stringify(meeting.record()), 'PX', ttlMs).catch((error: unknown) => {
					log.warn({ err: error, roomId: meeting.id }, 'cluster: cannot save the meeting state');
				});
			});
		});
		meeting.once('close', () => {
			if (!hosted()) return;
			chain = chain.then(() => redis.del(key).catch(() => undefined));
		});
	}

	#key(room: string): string {
		return `${this.#prefix}meeting:{${room}}`;
	}
}
