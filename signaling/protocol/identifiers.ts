/** zod schemas of the identifiers, built on the one set of rules in limits.ts. */
import { z } from 'zod';
import { FILE_ID_PATTERN, IDENTITY_PATTERN, Limits, MESSAGE_ID_PATTERN, ROOM_NAME_PATTERN } from './limits.ts';

export const IdentitySchema = z.string().regex(IDENTITY_PATTERN, 'identities are 1-64 of A-Z a-z 0-9 _ . @ -');
export const RoomNameSchema = z
	.string()
	.regex(ROOM_NAME_PATTERN, 'room names are 1-64 letters, digits, "-" or "_", starting with a letter or digit');
/** Invisible or direction-changing characters: zero-width, bidi controls, soft hyphen, BOM, C0/C1 controls. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/g;

/**
 * A display name as shown to others: NFKC-normalised (full-width and other compatibility
 * lookalikes fold to their plain form), invisible and bidi control characters removed,
 * whitespace collapsed and trimmed.
 */
export function normalizeDisplayName(name: string): string {
	return name.normalize('NFKC').replace(INVISIBLE, '').replace(/\s+/gu, ' ').trim();
}

export const DisplayNameSchema = z
	.string()
	.max(Limits.displayNameMax * 4)
	.transform(normalizeDisplayName)
	.pipe(z.string().min(1, 'the name is empty').max(Limits.displayNameMax));
export const MessageIdSchema = z.string().regex(MESSAGE_ID_PATTERN, 'id must be 8-64 characters of A-Z a-z 0-9 _ -');
export const FileIdSchema = z.string().regex(FILE_ID_PATTERN);
