/** zod schemas of the identifiers, built on the one set of rules in limits.ts. */
import { z } from 'zod';
import { FILE_ID_PATTERN, IDENTITY_PATTERN, Limits, MESSAGE_ID_PATTERN, ROOM_NAME_PATTERN } from './limits.ts';

export const IdentitySchema = z.string().regex(IDENTITY_PATTERN, 'identities are 1-64 of A-Z a-z 0-9 _ . @ -');
export const RoomNameSchema = z
	.string()
	.regex(ROOM_NAME_PATTERN, 'room names are 1-64 letters, digits, "-" or "_", starting with a letter or digit');
export const DisplayNameSchema = z.string().trim().min(1).max(Limits.displayNameMax);
export const MessageIdSchema = z.string().regex(MESSAGE_ID_PATTERN, 'id must be 8-64 characters of A-Z a-z 0-9 _ -');
export const FileIdSchema = z.string().regex(FILE_ID_PATTERN);
