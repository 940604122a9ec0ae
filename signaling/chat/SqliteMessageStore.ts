/**
 * MessageStore on SQLite (node:sqlite, synchronous I/O behind the async interface).
 *
 * One database file (or ':memory:'), WAL journal. Durability (`synchronous`):
 *  - 'full' (default): the WAL is fsynced at every commit, so an acknowledged message
 *    survives a power cut or a host crash;
 *  - 'normal': fsync only at checkpoints; an acknowledged message survives a crash (or
 *    kill -9) of Parley, but a power cut or kernel crash may lose the last commits.
 *
 * Group commit: every write (append, receipts, reads, presence) is queued and the writes
 * queued during one event-loop turn run in ONE BEGIN IMMEDIATE transaction (each in its
 * own savepoint, so one failing write does not undo the others); their promises resolve
 * after COMMIT. With many senders that is one fsync for many messages, not one each.
 * BEGIN IMMEDIATE also lets several processes share the file (busy_timeout makes them queue).
 */
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import {
	type AppendInput,
	type AppendResult,
	type Attachment,
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
	newEpoch,
	checkIdentity,
	checkRoom,
	checkSeq,
	clampLimit,
	computeReceipts,
	normalizeSeqList,
	parseAppendInput,
} from './MessageStore.ts';

export interface SqliteMessageStoreOptions extends MessageStoreOptions {
	/** How long a write waits for another process's lock before failing (ms). Default 5000. */
	busyTimeoutMs?: number;
	/** 'full' (default): fsync at every commit; 'normal': at checkpoints only (see above). */
	synchronous?: 'full' | 'normal';
}

interface QueuedWrite {
	fn: () => unknown;
	resolve: (value: unknown) => void;
	reject: (error: unknown) => void;
}

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chat_rooms (
	room     TEXT PRIMARY KEY,
	last_seq INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_messages (
	room       TEXT    NOT NULL,
	seq        INTEGER NOT NULL,
	id         TEXT    NOT NULL,
	ts         INTEGER NOT NULL,
	from_id    TEXT    NOT NULL,
	from_name  TEXT    NOT NULL,
	to_id      TEXT,
	text       TEXT    NOT NULL,
	attachment TEXT,
	PRIMARY KEY (room, seq)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX IF NOT EXISTS chat_messages_idempotency ON chat_messages (room, from_id, id);

CREATE TABLE IF NOT EXISTS chat_delivered (
	room     TEXT    NOT NULL,
	seq      INTEGER NOT NULL,
	identity TEXT    NOT NULL,
	PRIMARY KEY (room, seq, identity)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_delivered_marks (
	room     TEXT    NOT NULL,
	identity TEXT    NOT NULL,
	up_to    INTEGER NOT NULL,
	PRIMARY KEY (room, identity)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_presence (
	room      TEXT    NOT NULL,
	identity  TEXT    NOT NULL,
	name      TEXT    NOT NULL,
	state     TEXT    NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (room, identity)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_reads (
	room     TEXT    NOT NULL,
	identity TEXT    NOT NULL,
	up_to    INTEGER NOT NULL,
	PRIMARY KEY (room, identity)
) STRICT, WITHOUT ROWID;
`;

const MESSAGE_COLUMNS = 'room, seq, id, ts, from_id, from_name, to_id, text, attachment';
const VISIBLE = '(to_id IS NULL OR to_id = ? OR from_id = ?)';

type Row = Record<string, SQLOutputValue>;

function str(row: Row, column: string): string {
	const value = row[column];
	if (typeof value !== 'string') throw new Error(`chat store: column ${column} is not text`);
	return value;
}

function int(row: Row, column: string): number {
	const value = row[column];
	if (typeof value === 'number') return value;
	if (typeof value === 'bigint') return Number(value);
	throw new Error(`chat store: column ${column} is not an integer`);
}

function toMessage(row: Row): StoredMessage {
	const to = row.to_id;
	const attachment = row.attachment;
	return {
		id: str(row, 'id'),
		room: str(row, 'room'),
		seq: int(row, 'seq'),
		ts: int(row, 'ts'),
		from: str(row, 'from_id'),
		fromName: str(row, 'from_name'),
		to: typeof to === 'string' ? to : null,
		text: str(row, 'text'),
		attachment: typeof attachment === 'string' ? (JSON.parse(attachment) as Attachment) : null,
	};
}

/** SQLite result codes (primary, low byte) after which a retry may succeed. */
const TRANSIENT_CODES = new Set([
	5, // SQLITE_BUSY: another process holds the write lock past busy_timeout
	6, // SQLITE_LOCKED
	10, // SQLITE_IOERR
	13, // SQLITE_FULL: disk full
	14, // SQLITE_CANTOPEN
]);

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Transient SQLite failures become StoreUnavailableError (answered `unavailable`, retried). */
function classify(error: unknown): unknown {
	if (error instanceof StoreUnavailableError || !(error instanceof Error)) return error;
	const code = (error as Error & { errcode?: unknown }).errcode;
	if (typeof code === 'number' && TRANSIENT_CODES.has(code & 0xff)) {
		return new StoreUnavailableError(`chat store: SQLite: ${error.message}`, { cause: error });
	}
	return error;
}

export class SqliteMessageStore implements MessageStore {
	readonly #db: DatabaseSync;
	readonly #now: () => number;
	#closed = false;
	#epoch = '';
	readonly #queue: QueuedWrite[] = [];
	#commitScheduled = false;
	readonly #stmt: {
		savepoint: StatementSync;
		release: StatementSync;
		rollbackTo: StatementSync;
		byId: StatementSync;
		bySeq: StatementSync;
		nextSeq: StatementSync;
		insert: StatementSync;
		after: StatementSync;
		before: StatementSync;
		lastSeq: StatementSync;
		markDelivered: StatementSync;
		savePresence: StatementSync;
		loadPresence: StatementSync;
		isMember: StatementSync;
		fromOf: StatementSync;
		advanceRead: StatementSync;
		readUpTo: StatementSync;
		receiptMessages: StatementSync;
		receiptDelivered: StatementSync;
		roomReads: StatementSync;
		advanceDelivered: StatementSync;
		deliveredUpTo: StatementSync;
		roomDelivered: StatementSync;
		deleteDeliveredMarks: StatementSync;
		deleteMessages: StatementSync;
		deleteDelivered: StatementSync;
		deleteReads: StatementSync;
	};

	/** `path`: a database file (created if missing) or ':memory:'. */
	constructor(path: string, options: SqliteMessageStoreOptions = {}) {
		this.#now = options.now ?? Date.now;
		this.#db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
		try {
			this.#db.exec('PRAGMA journal_mode = WAL');
			this.#db.exec(`PRAGMA synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
			this.#migrate();
			const db = this.#db;
			this.#stmt = {
				savepoint: db.prepare('SAVEPOINT w'),
				release: db.prepare('RELEASE w'),
				rollbackTo: db.prepare('ROLLBACK TO w'),
				byId: db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE room = ? AND from_id = ? AND id = ?`),
				bySeq: db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE room = ? AND seq = ?`),
				nextSeq: db.prepare(
					`INSERT INTO chat_rooms (room, last_seq) VALUES (?, 1)
					 ON CONFLICT (room) DO UPDATE SET last_seq = last_seq + 1
					 RETURNING last_seq`,
				),
				insert: db.prepare(`INSERT INTO chat_messages (${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				after: db.prepare(
					`SELECT ${MESSAGE_COLUMNS} FROM chat_messages
					 WHERE room = ? AND seq > ? AND ${VISIBLE} ORDER BY seq ASC LIMIT ?`,
				),
				before: db.prepare(
					`SELECT ${MESSAGE_COLUMNS} FROM chat_messages
					 WHERE room = ? AND seq < ? AND ${VISIBLE} ORDER BY seq DESC LIMIT ?`,
				),
				lastSeq: db.prepare('SELECT last_seq FROM chat_rooms WHERE room = ?'),
				// One statement: exists, not the sender, visible, not already read by the identity.
				markDelivered: db.prepare(
					`INSERT OR IGNORE INTO chat_delivered (room, seq, identity)
					 SELECT m.room, m.seq, ? FROM chat_messages m
					 WHERE m.room = ? AND m.seq = ? AND m.from_id <> ? AND (m.to_id IS NULL OR m.to_id = ?)
					   AND NOT EXISTS (SELECT 1 FROM chat_reads r WHERE r.room = m.room AND r.identity = ? AND r.up_to >= m.seq)`,
				),
				savePresence: db.prepare(
					`INSERT INTO chat_presence (room, identity, name, state, last_seen) VALUES (?, ?, ?, ?, ?)
					 ON CONFLICT (room, identity) DO UPDATE SET name = excluded.name, state = excluded.state, last_seen = excluded.last_seen`,
				),
				loadPresence: db.prepare('SELECT identity, name, state, last_seen FROM chat_presence WHERE room = ?'),
				isMember: db.prepare('SELECT 1 AS one FROM chat_presence WHERE room = ? AND identity = ?'),
				fromOf: db.prepare('SELECT from_id FROM chat_messages WHERE room = ? AND seq = ?'),
				advanceRead: db.prepare(
					`INSERT INTO chat_reads (room, identity, up_to) VALUES (?, ?, ?)
					 ON CONFLICT (room, identity) DO UPDATE SET up_to = excluded.up_to WHERE excluded.up_to > up_to`,
				),
				readUpTo: db.prepare('SELECT up_to FROM chat_reads WHERE room = ? AND identity = ?'),
				receiptMessages: db.prepare(
					`SELECT seq, from_id, to_id FROM chat_messages
					 WHERE room = ? AND seq IN (SELECT value FROM json_each(?)) ORDER BY seq`,
				),
				receiptDelivered: db.prepare(
					`SELECT seq, identity FROM chat_delivered WHERE room = ? AND seq IN (SELECT value FROM json_each(?))`,
				),
				roomReads: db.prepare('SELECT identity, up_to FROM chat_reads WHERE room = ?'),
				advanceDelivered: db.prepare(
					`INSERT INTO chat_delivered_marks (room, identity, up_to) VALUES (?, ?, ?)
					 ON CONFLICT (room, identity) DO UPDATE SET up_to = excluded.up_to WHERE excluded.up_to > up_to`,
				),
				deliveredUpTo: db.prepare('SELECT up_to FROM chat_delivered_marks WHERE room = ? AND identity = ?'),
				roomDelivered: db.prepare('SELECT identity, up_to FROM chat_delivered_marks WHERE room = ?'),
				deleteDeliveredMarks: db.prepare('DELETE FROM chat_delivered_marks WHERE room = ?'),
				deleteMessages: db.prepare('DELETE FROM chat_messages WHERE room = ?'),
				deleteDelivered: db.prepare('DELETE FROM chat_delivered WHERE room = ?'),
				deleteReads: db.prepare('DELETE FROM chat_reads WHERE room = ?'),
			};
		} catch (error) {
			this.#db.close();
			throw error;
		}
	}

	#migrate(): void {
		const row = this.#db.prepare('PRAGMA user_version').get();
		const version = row ? int(row, 'user_version') : 0;
		if (version > SCHEMA_VERSION) {
			throw new Error(`chat store: database schema version ${version} is newer than this server (${SCHEMA_VERSION})`);
		}
		this.#epoch = this.#transaction(() => {
			this.#db.exec(SCHEMA);
			this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
			this.#db.prepare("INSERT OR IGNORE INTO chat_meta (key, value) VALUES ('epoch', ?)").run(newEpoch());
			const row = this.#db.prepare("SELECT value FROM chat_meta WHERE key = 'epoch'").get();
			if (!row) throw new Error('chat store: no epoch');
			return str(row, 'value');
		});
	}

	/** Run fn in BEGIN IMMEDIATE … COMMIT (the write lock is taken up front: no upgrade deadlocks). */
	#transaction<T>(fn: () => T): T {
		try {
			this.#db.exec('BEGIN IMMEDIATE');
			try {
				const result = fn();
				this.#db.exec('COMMIT');
				return result;
			} catch (error) {
				if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
				throw error;
			}
		} catch (error) {
			throw classify(error);
		}
	}

	/** Queue a write for the next group commit (see the top of the file). */
	#write<T>(fn: () => T): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
			if (!this.#commitScheduled) {
				this.#commitScheduled = true;
				setImmediate(() => this.#commit());
			}
		});
	}

	#commit(): void {
		this.#commitScheduled = false;
		const batch = this.#queue.splice(0);
		if (batch.length === 0) return;
		if (this.#closed) {
			for (const op of batch) op.reject(new StoreUnavailableError('chat store: the SQLite message store is closed'));
			return;
		}
		const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
		try {
			this.#transaction(() => {
				for (const op of batch) {
					this.#stmt.savepoint.run();
					try {
						outcomes.push({ ok: true, value: op.fn() });
						this.#stmt.release.run();
					} catch (error) {
						this.#stmt.rollbackTo.run();
						this.#stmt.release.run();
						outcomes.push({ ok: false, error: classify(error) });
					}
				}
			});
		} catch (error) {
			for (const op of batch) op.reject(error);
			return;
		}
		batch.forEach((op, i) => {
			const outcome = outcomes[i]!;
			if (outcome.ok) op.resolve(outcome.value);
			else op.reject(outcome.error);
		});
	}

	#open(): void {
		if (this.#closed) throw new StoreUnavailableError('chat store: the SQLite message store is closed');
	}

	async append(input: AppendInput): Promise<AppendResult> {
		this.#open();
		const m = parseAppendInput(input);
		return this.#write(() => {
			const existing = this.#stmt.byId.get(m.room, m.from, m.id);
			if (existing) return { message: toMessage(existing), duplicate: true, epoch: this.#epoch };
			const counter = this.#stmt.nextSeq.get(m.room);
			if (!counter) throw new Error('chat store: could not allocate a seq');
			const message: StoredMessage = { ...m, seq: int(counter, 'last_seq'), ts: this.#now() };
			this.#stmt.insert.run(
				message.room,
				message.seq,
				message.id,
				message.ts,
				message.from,
				message.fromName,
				message.to,
				message.text,
				message.attachment ? JSON.stringify(message.attachment) : null,
			);
			return { message, duplicate: false, epoch: this.#epoch };
		});
	}

	async after(room: string, viewer: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(viewer, 'viewer');
		checkSeq(afterSeq, 'afterSeq', 0);
		const n = clampLimit(limit);
		if (n === 0) return [];
		return this.#stmt.after.all(room, afterSeq, viewer, viewer, n).map(toMessage);
	}

	async before(room: string, viewer: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(viewer, 'viewer');
		if (beforeSeq !== null) checkSeq(beforeSeq, 'beforeSeq', 1);
		const n = clampLimit(limit);
		if (n === 0) return [];
		const bound = beforeSeq ?? Number.MAX_SAFE_INTEGER;
		return this.#stmt.before.all(room, bound, viewer, viewer, n).map(toMessage).reverse();
	}

	async get(room: string, seq: number): Promise<StoredMessage | null> {
		this.#open();
		checkRoom(room);
		checkSeq(seq, 'seq', 1);
		const row = this.#stmt.bySeq.get(room, seq);
		return row ? toMessage(row) : null;
	}

	async getById(room: string, from: string, id: string): Promise<StoredMessage | null> {
		this.#open();
		checkRoom(room);
		checkIdentity(from, 'from');
		const row = this.#stmt.byId.get(room, from, id);
		return row ? toMessage(row) : null;
	}

	async markDelivered(room: string, seq: number, identity: string): Promise<boolean> {
		this.#open();
		checkRoom(room);
		checkSeq(seq, 'seq', 1);
		checkIdentity(identity);
		return (await this.markDeliveredMany(room, [seq], identity)).length > 0;
	}

	async markDeliveredMany(room: string, seqs: readonly number[], identity: string): Promise<DeliveredRecord[]> {
		this.#open();
		checkRoom(room);
		checkIdentity(identity);
		const wanted = normalizeSeqList(seqs);
		if (wanted.length === 0) return [];
		return this.#write(() => {
			const out: DeliveredRecord[] = [];
			for (const seq of wanted) {
				if (Number(this.#stmt.markDelivered.run(identity, room, seq, identity, identity, identity).changes) === 0) continue;
				const row = this.#stmt.fromOf.get(room, seq);
				if (row) out.push({ seq, from: str(row, 'from_id') });
			}
			return out;
		});
	}

	async readWatermarks(room: string): Promise<Record<string, number>> {
		this.#open();
		checkRoom(room);
		const out: Record<string, number> = {};
		for (const row of this.#stmt.roomReads.all(room)) out[str(row, 'identity')] = int(row, 'up_to');
		return out;
	}

	async markDeliveredUpTo(room: string, upToSeq: number, identity: string): Promise<{ deliveredUpTo: number; advanced: boolean }> {
		this.#open();
		checkRoom(room);
		checkSeq(upToSeq, 'upToSeq', 0);
		checkIdentity(identity);
		return this.#write(() => {
			const target = Math.min(upToSeq, this.#lastSeq(room));
			let advanced = false;
			if (target > 0) advanced = Number(this.#stmt.advanceDelivered.run(room, identity, target).changes) > 0;
			const row = this.#stmt.deliveredUpTo.get(room, identity);
			return { deliveredUpTo: row ? int(row, 'up_to') : 0, advanced };
		});
	}

	async deliveredWatermarks(room: string): Promise<Record<string, number>> {
		this.#open();
		checkRoom(room);
		const out: Record<string, number> = {};
		for (const row of this.#stmt.roomDelivered.all(room)) out[str(row, 'identity')] = int(row, 'up_to');
		return out;
	}

	async markRead(room: string, upToSeq: number, identity: string): Promise<ReadResult> {
		this.#open();
		checkRoom(room);
		checkSeq(upToSeq, 'upToSeq', 0);
		checkIdentity(identity);
		return this.#write(() => {
			const last = this.#lastSeq(room);
			const target = Math.min(upToSeq, last);
			let advanced = false;
			if (target > 0) advanced = Number(this.#stmt.advanceRead.run(room, identity, target).changes) > 0;
			return { readUpTo: this.#readUpTo(room, identity), advanced };
		});
	}

	async readUpTo(room: string, identity: string): Promise<number> {
		this.#open();
		checkRoom(room);
		checkIdentity(identity);
		return this.#readUpTo(room, identity);
	}

	#readUpTo(room: string, identity: string): number {
		const row = this.#stmt.readUpTo.get(room, identity);
		return row ? int(row, 'up_to') : 0;
	}

	async receipts(room: string, seqs: readonly number[], from?: string): Promise<MessageReceipts[]> {
		this.#open();
		checkRoom(room);
		const wanted = normalizeSeqList(seqs);
		if (wanted.length === 0) return [];
		const list = JSON.stringify(wanted);
		// A read transaction: one consistent snapshot of messages, deliveries and watermarks.
		this.#db.exec('BEGIN');
		try {
			const messages = this.#stmt.receiptMessages.all(room, list);
			const delivered = new Map<number, string[]>();
			for (const row of this.#stmt.receiptDelivered.all(room, list)) {
				const seq = int(row, 'seq');
				let ids = delivered.get(seq);
				if (!ids) delivered.set(seq, (ids = []));
				ids.push(str(row, 'identity'));
			}
			const reads = this.#stmt.roomReads.all(room).map((row) => [str(row, 'identity'), int(row, 'up_to')] as const);
			const marks = this.#stmt.roomDelivered.all(room).map((row) => [str(row, 'identity'), int(row, 'up_to')] as const);
			const mine = from === undefined ? messages : messages.filter((row) => row.from_id === from);
			return mine.map((row) => {
				const seq = int(row, 'seq');
				const to = row.to_id;
				return computeReceipts(
					{ seq, from: str(row, 'from_id'), to: typeof to === 'string' ? to : null },
					reads,
					delivered.get(seq) ?? [],
					marks,
				);
			});
		} finally {
			this.#db.exec('COMMIT');
		}
	}

	async lastSeq(room: string): Promise<number> {
		this.#open();
		checkRoom(room);
		return this.#lastSeq(room);
	}

	#lastSeq(room: string): number {
		const row = this.#stmt.lastSeq.get(room);
		return row ? int(row, 'last_seq') : 0;
	}

	async deleteRoom(room: string): Promise<void> {
		this.#open();
		checkRoom(room);
		await this.#write(() => {
			this.#stmt.deleteMessages.run(room);
			this.#stmt.deleteDelivered.run(room);
			this.#stmt.deleteReads.run(room);
			this.#stmt.deleteDeliveredMarks.run(room);
			// chat_rooms keeps last_seq: seqs are never reused in a room.
		});
	}

	async savePresence(room: string, record: PresenceRecord): Promise<void> {
		this.#open();
		checkRoom(room);
		checkIdentity(record.identity);
		await this.#write(() => this.#stmt.savePresence.run(room, record.identity, record.name, record.state, record.lastSeen));
	}

	async loadPresence(room: string): Promise<PresenceRecord[]> {
		this.#open();
		checkRoom(room);
		return this.#stmt.loadPresence.all(room).flatMap((row) => {
			const state = str(row, 'state');
			if (!isPresenceState(state)) return [];
			return [{ identity: str(row, 'identity'), name: str(row, 'name'), state, lastSeen: int(row, 'last_seen') }];
		});
	}

	async isMember(room: string, identity: string): Promise<boolean> {
		this.#open();
		checkRoom(room);
		checkIdentity(identity);
		return this.#stmt.isMember.get(room, identity) !== undefined;
	}

	async epoch(): Promise<string> {
		this.#open();
		return this.#epoch;
	}

	async health(): Promise<StoreHealth> {
		const started = performance.now();
		const latencyMs = () => +(performance.now() - started).toFixed(2);
		if (this.#closed) return { ok: false, engine: 'sqlite', latencyMs: 0, epoch: null, error: 'closed' };
		try {
			this.#db.prepare('SELECT 1').get();
			return { ok: true, engine: 'sqlite', latencyMs: latencyMs(), epoch: this.#epoch };
		} catch (error) {
			return { ok: false, engine: 'sqlite', latencyMs: latencyMs(), epoch: null, error: describe(error) };
		}
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#commit(); // what is queued is written, not dropped
		this.#closed = true;
		this.#db.close();
	}
}
