/**
 * Which files may be attached to chat messages: an allowlist of MIME types (with the
 * aliases browsers actually send), magic-byte signatures for the types that have a
 * reliable one, and display-name sanitising.
 */
import { Limits } from '../protocol/limits.ts';

/** Types that may be uploaded (canonical, lower-case, without parameters). */
export const ALLOWED_MIME_TYPES: ReadonlySet<string> = new Set([
	'image/png',
	'image/jpeg',
	'image/gif',
	'image/webp',
	'application/pdf',
	'text/plain',
	'text/markdown',
	'text/csv',
	'application/zip',
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
	'application/vnd.openxmlformats-officedocument.presentationml.presentation',
	'application/vnd.oasis.opendocument.text',
	'audio/mpeg',
	'audio/ogg',
	'audio/wav',
	'video/mp4',
	'video/webm',
]);

/** Non-canonical names browsers and operating systems use for allowed types. */
const MIME_ALIASES: Readonly<Record<string, string>> = {
	'image/jpg': 'image/jpeg',
	'image/pjpeg': 'image/jpeg',
	'application/x-zip-compressed': 'application/zip',
	'audio/x-wav': 'audio/wav',
	'audio/wave': 'audio/wav',
	'audio/vnd.wave': 'audio/wav',
	'audio/mp3': 'audio/mpeg',
	'text/x-markdown': 'text/markdown',
};

/**
 * The canonical allowed type for a declared Content-Type (parameters such as `charset`
 * dropped, aliases resolved), or null when the type is not allowed.
 */
export function normalizeMime(declared: string | null | undefined): string | null {
	if (typeof declared !== 'string') return null;
	const essence = (declared.split(';', 1)[0] ?? '').trim().toLowerCase();
	const canonical = MIME_ALIASES[essence] ?? essence;
	return ALLOWED_MIME_TYPES.has(canonical) ? canonical : null;
}

/** How many leading bytes sniffing needs (the longest signature, with its offset). */
export const SNIFF_BYTES = 16;

type Signature = (head: Buffer) => boolean;

const bytesAt =
	(offset: number, ...values: number[]): Signature =>
	(head) =>
		head.length >= offset + values.length && values.every((v, i) => head[offset + i] === v);
const asciiAt = (offset: number, text: string): Signature => bytesAt(offset, ...Buffer.from(text, 'latin1'));
const anyOf =
	(...signatures: Signature[]): Signature =>
	(head) =>
		signatures.some((s) => s(head));
const allOf =
	(...signatures: Signature[]): Signature =>
	(head) =>
		signatures.every((s) => s(head));

/** A local file header: every non-empty ZIP (and so every OOXML / ODF document) starts with one. */
const zipLocalHeader = asciiAt(0, 'PK\x03\x04');

const SIGNATURES: Readonly<Record<string, Signature>> = {
	'image/png': bytesAt(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
	'image/jpeg': bytesAt(0, 0xff, 0xd8, 0xff),
	'image/gif': anyOf(asciiAt(0, 'GIF87a'), asciiAt(0, 'GIF89a')),
	'image/webp': allOf(asciiAt(0, 'RIFF'), asciiAt(8, 'WEBP')),
	'application/pdf': asciiAt(0, '%PDF-'),
	// An empty archive is only an end-of-central-directory record.
	'application/zip': anyOf(zipLocalHeader, asciiAt(0, 'PK\x05\x06')),
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': zipLocalHeader,
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': zipLocalHeader,
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': zipLocalHeader,
	'application/vnd.oasis.opendocument.text': zipLocalHeader,
};

/** Whether the content of this (canonical) type is checked against a signature. */
export function hasSignature(mime: string): boolean {
	return Object.hasOwn(SIGNATURES, mime);
}

/**
 * Whether the first bytes of a file fit its declared (canonical) type. Types without a
 * signature always fit. `head` should hold SNIFF_BYTES bytes, or the whole file if shorter.
 */
export function matchesSignature(mime: string, head: Buffer): boolean {
	const signature = Object.hasOwn(SIGNATURES, mime) ? SIGNATURES[mime] : undefined;
	return signature ? signature(head) : true;
}

/** Display names are at most this many UTF-16 code units (what MessageStore accepts). */
export const FILE_NAME_MAX = Limits.fileNameMax;

// C0 and C1 controls, DEL, and the bidi controls that can disguise an extension ("evil\u202Etxt.exe").
const UNWANTED = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A safe display name: NFC, without control and bidi characters, only the last path
 * segment (`C:\Users\me\a.pdf` → `a.pdf`, `../../etc/passwd` → `passwd`), trimmed and cut
 * to FILE_NAME_MAX keeping the extension. Null when nothing usable is left.
 * The name is only ever shown and put in Content-Disposition, never used as a path.
 */
export function sanitizeFileName(raw: string): string | null {
	if (typeof raw !== 'string') return null;
	const cleaned = raw.normalize('NFC').replace(UNWANTED, '');
	const segments = cleaned.split(/[/\\]/);
	const name = (segments[segments.length - 1] ?? '').trim();
	if (name === '' || name === '.' || name === '..') return null;
	return truncateName(name, FILE_NAME_MAX);
}

function truncateName(name: string, max: number): string {
	if (name.length <= max) return name;
	const dot = name.lastIndexOf('.');
	const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
	return cutCodePoints(name.slice(0, name.length - ext.length), max - ext.length).trimEnd() + ext;
}

/** The longest prefix of whole code points that fits in `max` UTF-16 code units. */
function cutCodePoints(text: string, max: number): string {
	let out = '';
	for (const ch of text) {
		if (out.length + ch.length > max) break;
		out += ch;
	}
	return out;
}
