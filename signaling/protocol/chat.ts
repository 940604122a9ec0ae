/**
 * In-meeting messaging: chat (room and direct), receipts, typing, presence, files.
 * Reliability contract: the client generates each message's `id` and retries `chat:send`
 * with the same id until acknowledged; the server stores it once (per room and sender),
 * assigns a per-room `seq`, and acknowledges. After a reconnect the client asks for
 * everything after the last seq it holds (`chat:sync`), so nothing is lost or doubled.
 */
import { z } from 'zod';
import { FileIdSchema, IdentitySchema as Identity, MessageIdSchema } from './identifiers.ts';
import { Limits } from './limits.ts';

export const ChatLimits = {
	textMax: Limits.textMax,
	idMax: Limits.messageIdMax,
	pageMax: Limits.pageMax,
} as const;

const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ChatAttachmentRefSchema = z.strictObject({ fileId: FileIdSchema });

export const chatRequestSchemas = {
	'chat:send': z
		.strictObject({
			id: MessageIdSchema,
			text: z.string().max(ChatLimits.textMax, `messages are at most ${ChatLimits.textMax} characters`),
			to: Identity.nullable().optional(),
			attachment: ChatAttachmentRefSchema.nullable().optional(),
		})
		.refine((m) => m.text.trim().length > 0 || m.attachment, { message: 'a message needs text or a file', path: ['text'] }),
	/** Everything after a seq (for reconnects). */
	'chat:sync': z.strictObject({ afterSeq: Seq, limit: z.number().int().min(1).max(ChatLimits.pageMax).optional() }),
	/** A page of older messages (null: the latest). */
	'chat:history': z.strictObject({
		beforeSeq: Seq.nullable(),
		limit: z.number().int().min(1).max(ChatLimits.pageMax).optional(),
	}),
	/** "I hold every message visible to me up to this seq" (a delivered watermark). */
	'chat:delivered': z.strictObject({ upToSeq: Seq }),
	/** Current receipts of some of this participant's own messages (after a reconnect); others' seqs are left out. */
	'chat:receipts': z.strictObject({ seqs: z.array(Seq.min(1)).min(1).max(ChatLimits.pageMax) }),
	'chat:read': z.strictObject({ upToSeq: Seq }),
	'chat:typing': z.strictObject({ typing: z.boolean(), to: Identity.nullable().optional() }),
	'presence:set': z.strictObject({ state: z.enum(['online', 'away']) }),
} as const;

export interface ChatAttachment {
	fileId: string;
	name: string;
	size: number;
	mime: string;
}

export interface ChatMessage {
	id: string;
	seq: number;
	ts: number;
	from: string;
	fromName: string;
	to: string | null;
	text: string;
	attachment: ChatAttachment | null;
}

export interface ChatReceipt {
	seq: number;
	deliveredTo: string[];
	readBy: string[];
}

export interface ChatWatermark {
	identity: string;
	deliveredUpTo?: number;
	readUpTo?: number;
}

export type PresenceState = 'online' | 'away' | 'reconnecting' | 'left';

export interface Presence {
	identity: string;
	name: string;
	state: PresenceState;
	/** ms since the epoch of the last sign of life. */
	lastSeen: number;
}

export interface ChatResponseMap {
	/** `epoch`: the message store's generation id (see chat:sync). */
	'chat:send': { message: ChatMessage; duplicate: boolean; epoch: string };
	/**
	 * `epoch`: the message store's generation id. When it differs from the one a client holds,
	 * the store was restarted from empty (seqs start again at 1): drop what you hold and sync from 0.
	 */
	'chat:sync': {
		messages: ChatMessage[];
		lastSeq: number;
		hasMore: boolean;
		epoch: string;
		/** On the last page (hasMore false): everyone's read watermark, identity → "read everything visible up to seq". */
		readUpTo?: Record<string, number>;
		/** On the last page: everyone's delivered watermark, identity → "holds everything visible up to seq". */
		deliveredUpTo?: Record<string, number>;
	};
	'chat:history': { messages: ChatMessage[]; hasMore: boolean; receipts: ChatReceipt[] };
	'chat:delivered': Record<string, never>;
	'chat:receipts': { receipts: ChatReceipt[] };
	'chat:read': { readUpTo: number };
	'chat:typing': Record<string, never>;
	'presence:set': Record<string, never>;
}

export interface ChatNotificationMap {
	'chat:message': ChatMessage;
	/**
	 * Receipts of the receiver's own messages grew: merge (union) into what is held.
	 * Delivered and read receipts travel as chat:watermarks.
	 */
	'chat:receipts': { receipts: ChatReceipt[] };
	/**
	 * Each `identity` holds (deliveredUpTo) or has read (readUpTo) everything visible to it up
	 * to that seq. Sent to the whole room when watermarks move, at most every 50 ms with all
	 * that moved: one small event however many messages and readers. Merge with max.
	 */
	'chat:watermarks': { marks: ChatWatermark[] };
	'chat:typing': { identity: string; name: string; typing: boolean; direct: boolean };
	/** Everyone's presence on connect, then one entry per change. */
	'presence:snapshot': { participants: Presence[] };
	'presence:update': Presence;
}

/** POST /api/rooms/:room/files answer. */
export type FileUploadResponse = ChatAttachment;
