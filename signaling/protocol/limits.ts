/**
 * The one source of truth for identifiers and limits: the protocol's schemas, join
 * tokens, the message and file stores and the browser client all use these. Plain
 * values (no zod), so the client can import them without pulling in a validator.
 */

/** Identities (token subjects): 1-64 of A-Z a-z 0-9 _ . @ - */
export const IDENTITY_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Room names are URL-safe so that `/r/<room>` links just work: 1-64, starting with a letter or digit. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A chat message's client-generated idempotency key. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
/** An uploaded file's id. */
export const FILE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export const Limits = {
	identityMax: 64,
	roomNameMax: 64,
	displayNameMax: 64,
	/** A message's idempotency key (the store accepts 1 character up; the protocol asks for 8). */
	messageIdMax: 64,
	/** Message text, in UTF-16 code units (String.length, like a textarea's maxLength). */
	textMax: 4000,
	/** Messages per page (sync, history, store reads) and seqs per receipts call. */
	pageMax: 200,
	fileIdMax: 64,
	fileNameMax: 255,
	mimeMax: 255,
} as const;
