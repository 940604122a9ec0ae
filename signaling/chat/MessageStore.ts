/**
 * Storage of in-meeting messages (room chat and direct messages) and their receipts.
 *
 * The promise to users: a message is never lost, never duplicated, stored and forwarded,
 * acknowledged. The store is the part that makes "never duplicated" and "stored" true:
 *  - every message gets a per-room sequence number (1, 2, 3, … gap-free, strictly increasing);
 *  - appends are idempotent by (room, sender, client-generated id), so a client may retry
 *    until it gets an acknowledgement without ever creating a second copy;
 *  - the client remembers the last seq it has and asks for `after(room, me, lastSeq)` on
 *    reconnect; with direct messages filtered out, the seqs one viewer sees may have gaps.
 *
 * Two implementations: SqliteMessageStore (one machine) and RedisMessageStore (several
 * signaling processes). Both are checked by the same contract suite (test/messageStoreContract.ts).
 *
 * Seq numbers are never reused in a room, not even after `deleteRoom()`: the room's counter
 * survives the deletion, so a client still holding an old `lastSeq` cannot miss new messages.
 */
import { z } from 'zod';
import {
	IDENTITY_PATTERN,
	IdentitySchema,
	Limits,
	ROOM_NAME_PATTERN,
	RoomNameSchema,
	type ChatAttachment,
	type ChatMessage,
	type ChatReceipt,
	type Presence,
} from '../protocol/index.ts';

/** The store's limits are the protocol's (signaling/protocol/limits.ts). */
export const MessageLimits = {
	roomMax: Limits.roomNameMax,
	/** The client-generated idempotency key. */
	idMax: Limits.messageIdMax,
	/** Identities (token subjects) of senders, recipients, viewers. */
	identityMax: Limits.identityMax,
	/** Display name of the sender. */
	nameMax: Limits.displayNameMax,
	/** Message text, in UTF-16 code units (String.length, like a textarea's maxLength). */
	textMax: Limits.textMax,
	/** Attachment file id, file name, MIME type. */
	fileIdMax: Limits.fileIdMax,
	fileNameMax: Limits.fileNameMax,
	mimeMax: Limits.mimeMax,
	/** `after()` / `before()` return at most this many messages (larger limits are clamped). */
	pageMax: Limits.pageMax,
	/** `receipts()` accepts at most this many seqs per call. */
	receiptsMax: Limits.pageMax,
} as const;

export const AttachmentSchema = z.object({
	fileId: z.string().min(1).max(MessageLimits.fileIdMax),
	name: z.string().min(1).max(MessageLimits.fileNameMax),
	size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
	mime: z.string().min(1).max(MessageLimits.mimeMax),
});

export const AppendInputSchema = z
	.object({
		/** Client-generated idempotency key (e.g. a UUID). */
		id: z.string().min(1).max(MessageLimits.idMax),
		room: RoomNameSchema,
		/** The sender's identity (from the join token, never from the client's payload). */
		from: IdentitySchema,
		fromName: z.string().max(MessageLimits.nameMax),
		/** null/absent: to the whole room; otherwise the recipient's identity (direct message). */
		to: IdentitySchema.nullable().optional(),
		text: z.string().max(MessageLimits.textMax),
		attachment: AttachmentSchema.nullable().optional(),
	})
	.refine((m) => m.text.length > 0 || m.attachment != null, {
		message: 'a message needs text or an attachment',
		path: ['text'],
	});

/** An attachment as stored and as sent (one type: the protocol's). */
export type Attachment = ChatAttachment;
export type AppendInput = z.input<typeof AppendInputSchema>;

/**
 * A stored message: the protocol's ChatMessage (id unique per room and sender, seq assigned
 * by the store, ts taken when first stored) and the room it belongs to.
 */
export interface StoredMessage extends ChatMessage {
	room: string;
}

export interface AppendResult {
	/** The stored message (for a duplicate: the one stored first, whatever the retry carried). */
	message: StoredMessage;
	/** true when (room, from, id) was already stored and nothing new was written. */
	duplicate: boolean;
	/** The store's epoch when the message was stored (see MessageStore.epoch()). */
	epoch: string;
}

/** What `health()` reports: used by readiness probes and the operator. */
export interface StoreHealth {
	/** true when the store answered a probe within its timeout. */
	ok: boolean;
	engine: 'sqlite' | 'redis';
	/** Round trip of the probe (ms). */
	latencyMs: number;
	/** The store's epoch (null when it did not answer). */
	epoch: string | null;
	/** Why it is not ok (for logs and /readyz; no secrets). */
	error?: string;
	/** Ok, but weaker than configured (e.g. Redis not fsyncing every write with durability 'disk'). */
	warning?: string;
}

/** Receipts of one message (the protocol's ChatReceipt): deliveredTo includes every reader, both sorted, never the sender. */
export type MessageReceipts = ChatReceipt;

/** A delivery newly recorded by markDeliveredMany: which message, and who sent it (to notify). */
export interface DeliveredRecord {
	seq: number;
	from: string;
}

export interface ReadResult {
	/** The identity's read watermark after the call: everything visible to it up to here is read. */
	readUpTo: number;
	/** true when the watermark moved forward. */
	advanced: boolean;
}

/** One participant's presence in a room, as persisted (the protocol's Presence). */
export type PresenceRecord = Presence;

/**
 * Presence persisted in the message store's engine (SQLite, or Redis shared by every
 * signaling process): written through on every state change, read when a room's first
 * connection arrives after a (re)start. A record also makes its identity a member of the
 * room's chat (direct messages to it are accepted while it is away).
 */
export interface PresenceRecords {
	/** Insert or replace one participant's record. */
	savePresence(room: string, record: PresenceRecord): Promise<void>;
	/** Every record of the room (any order). */
	loadPresence(room: string): Promise<PresenceRecord[]>;
	/** Whether the identity ever joined the room (has a record). */
	isMember(room: string, identity: string): Promise<boolean>;
}

export interface MessageStore extends PresenceRecords {
	/**
	 * Store a message, assigning the next seq of its room. Idempotent by (room, from, id):
	 * a retry returns the originally stored message with duplicate=true and stores nothing.
	 * Rejects with MessageValidationError when the input breaks the limits.
	 */
	append(input: AppendInput): Promise<AppendResult>;
	/** Messages with seq > afterSeq visible to `viewer`, ascending, at most `limit`. */
	after(room: string, viewer: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
	/** The newest messages with seq < beforeSeq (null: the latest) visible to `viewer`, returned ascending. */
	before(room: string, viewer: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]>;
	/** One message by seq, or null. No visibility check: the caller decides who may see it. */
	get(room: string, seq: number): Promise<StoredMessage | null>;
	/** One message by its idempotency key (unique per room and sender), or null. */
	getById(room: string, from: string, id: string): Promise<StoredMessage | null>;
	/**
	 * Record that message `seq` reached `identity`. Ignored (false) when the message does not
	 * exist, is not visible to the identity, was sent by it, or is already delivered/read by it.
	 */
	markDelivered(room: string, seq: number, identity: string): Promise<boolean>;
	/**
	 * markDelivered for several messages in one transaction (SQLite) or one round trip (Redis).
	 * Returns the deliveries newly recorded, ascending by seq. At most MessageLimits.receiptsMax seqs.
	 */
	markDeliveredMany(room: string, seqs: readonly number[], identity: string): Promise<DeliveredRecord[]>;
	/**
	 * Mark everything visible to `identity` up to `upToSeq` as read (and so delivered).
	 * Idempotent; never moves backwards; `upToSeq` is clamped to the room's last seq.
	 */
	markRead(room: string, upToSeq: number, identity: string): Promise<ReadResult>;
	/** The identity's read watermark in the room (0 when it has read nothing). */
	readUpTo(room: string, identity: string): Promise<number>;
	/** Every identity's read watermark in the room (identities that read nothing are left out). */
	readWatermarks(room: string): Promise<Record<string, number>>;
	/**
	 * `identity` holds every message visible to it up to `upToSeq` (delivered, as a
	 * watermark: O(1) however many messages it covers). Never moves backwards; clamped to
	 * the room's last seq. Returns the watermark after the call and whether it moved.
	 */
	markDeliveredUpTo(room: string, upToSeq: number, identity: string): Promise<{ deliveredUpTo: number; advanced: boolean }>;
	/** Every identity's delivered watermark in the room. */
	deliveredWatermarks(room: string): Promise<Record<string, number>>;
	/**
	 * Receipts of the given messages, ascending by seq; seqs that do not exist (or, with
	 * `from`, were not sent by that identity) are left out.
	 */
	receipts(room: string, seqs: readonly number[], from?: string): Promise<MessageReceipts[]>;
	/** The highest seq ever assigned in the room (0 when none). */
	lastSeq(room: string): Promise<number>;
	/**
	 * Forget the room's messages, receipts and idempotency keys (retention). The seq counter
	 * is kept, so the room's next message continues after the old lastSeq.
	 */
	deleteRoom(room: string): Promise<void>;
	/**
	 * The store's generation id: random, created with the store's data, stable while the data
	 * lives. A store restarted from empty (a Redis without persistence, a wiped data folder)
	 * answers a new epoch, and its seqs start again at 1: clients holding another epoch must
	 * drop what they hold and resync from scratch.
	 */
	epoch(): Promise<string>;
	/** Probe the store (never rejects; bounded by a short timeout). */
	health(): Promise<StoreHealth>;
	close(): Promise<void>;
}

export interface MessageStoreOptions {
	/** Clock for `ts` (default Date.now); injectable for tests. */
	now?: () => number;
}

/**
 * Thrown (as a rejection) when the store cannot answer now: Redis unreachable, loading or
 * timing out, SQLite locked or failing I/O. Nothing was (knowingly) written; the caller may
 * retry the same request later (appends are idempotent). Answered to clients as `unavailable`.
 */
export class StoreUnavailableError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'StoreUnavailableError';
	}
}

const PRESENCE_STATES: ReadonlySet<string> = new Set(['online', 'away', 'reconnecting', 'left']);

export function isPresenceState(value: unknown): value is Presence['state'] {
	return typeof value === 'string' && PRESENCE_STATES.has(value);
}

/** A fresh random epoch id. */
export function newEpoch(): string {
	return crypto.randomUUID().replaceAll('-', '').slice(0, 16);
}

/** Thrown (as a rejection) when an argument breaks the limits above. */
export class MessageValidationError extends Error {
	readonly issues: string[];

	constructor(issues: string[]) {
		super(`Invalid message store argument: ${issues.join('; ')}`);
		this.name = 'MessageValidationError';
		this.issues = issues;
	}
}

// ---- helpers shared by the implementations -------------------------------------------------

export interface NormalizedInput {
	id: string;
	room: string;
	from: string;
	fromName: string;
	to: string | null;
	text: string;
	attachment: Attachment | null;
}

export function parseAppendInput(input: AppendInput): NormalizedInput {
	const parsed = AppendInputSchema.safeParse(input);
	if (!parsed.success) {
		throw new MessageValidationError(
			parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`),
		);
	}
	const m = parsed.data;
	return {
		id: m.id,
		room: m.room,
		from: m.from,
		fromName: m.fromName,
		to: m.to ?? null,
		text: m.text,
		attachment: m.attachment
			? { fileId: m.attachment.fileId, name: m.attachment.name, size: m.attachment.size, mime: m.attachment.mime }
			: null,
	};
}

export function checkRoom(room: string): void {
	if (typeof room !== 'string' || !ROOM_NAME_PATTERN.test(room)) {
		throw new MessageValidationError([`room: invalid room name ${JSON.stringify(room)}`]);
	}
}

export function checkIdentity(identity: string, what = 'identity'): void {
	if (typeof identity !== 'string' || !IDENTITY_PATTERN.test(identity)) {
		throw new MessageValidationError([`${what}: must be 1-${MessageLimits.identityMax} of A-Z a-z 0-9 _ . @ -`]);
	}
}

/** A seq argument: an integer ≥ min (0 for "after", 1 for a message's seq). */
export function checkSeq(seq: number, what: string, min: number): void {
	if (!Number.isSafeInteger(seq) || seq < min) {
		throw new MessageValidationError([`${what}: must be an integer ≥ ${min}`]);
	}
}

/** Validate a page limit and clamp it to MessageLimits.pageMax. */
export function clampLimit(limit: number): number {
	if (!Number.isSafeInteger(limit) || limit < 0) {
		throw new MessageValidationError(['limit: must be an integer ≥ 0']);
	}
	return Math.min(limit, MessageLimits.pageMax);
}

/** Validate a receipts() seq list; returns the distinct seqs, ascending. */
export function normalizeSeqList(seqs: readonly number[]): number[] {
	if (!Array.isArray(seqs)) throw new MessageValidationError(['seqs: must be an array']);
	const distinct = [...new Set(seqs)];
	for (const seq of distinct) checkSeq(seq, 'seqs[]', 1);
	if (distinct.length > MessageLimits.receiptsMax) {
		throw new MessageValidationError([`seqs: at most ${MessageLimits.receiptsMax} per call`]);
	}
	return distinct.sort((a, b) => a - b);
}

/** Room messages are visible to everyone; a direct message to its sender and recipient. */
export function isVisibleTo(message: Pick<StoredMessage, 'from' | 'to'>, identity: string): boolean {
	return message.to === null || message.from === identity || message.to === identity;
}

/**
 * Receipts of one message from the raw state: the read watermarks of the room and the
 * explicit delivery records of this message. Reading implies delivery; the sender and
 * identities the message is not visible to are never listed.
 */
export function computeReceipts(
	message: Pick<StoredMessage, 'seq' | 'from' | 'to'>,
	readWatermarks: Iterable<readonly [identity: string, upTo: number]>,
	deliveredTo: Iterable<string>,
	deliveredWatermarks: Iterable<readonly [identity: string, upTo: number]> = [],
): MessageReceipts {
	const counts = (identity: string): boolean => identity !== message.from && isVisibleTo(message, identity);
	const readBy = new Set<string>();
	for (const [identity, upTo] of readWatermarks) {
		if (upTo >= message.seq && counts(identity)) readBy.add(identity);
	}
	const delivered = new Set(readBy);
	for (const identity of deliveredTo) if (counts(identity)) delivered.add(identity);
	for (const [identity, upTo] of deliveredWatermarks) if (upTo >= message.seq && counts(identity)) delivered.add(identity);
	return { seq: message.seq, deliveredTo: [...delivered].sort(), readBy: [...readBy].sort() };
}
