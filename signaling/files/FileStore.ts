/**
 * Chat attachments on disk: `<dataDir>/files/<room>/<fileId>` holds the bytes and
 * `<fileId>.json` next to it the metadata. Uploads stream into a temporary file in the
 * same directory (size-limited and type-sniffed on the way) and are renamed into place
 * only when complete, so a reader never sees a partial file. Room names and file ids
 * are validated against strict patterns before they come near a path.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { FILE_ID_PATTERN, IDENTITY_PATTERN, Limits, RoomNameSchema, type ChatAttachment } from '../protocol/index.ts';
import { SNIFF_BYTES, hasSignature, matchesSignature, normalizeMime, sanitizeFileName } from './types.ts';


export const FileErrorReason = {
	TooLarge: 'too_large',
	UnsupportedType: 'unsupported_type',
	TypeMismatch: 'type_mismatch',
	NotFound: 'not_found',
	BadName: 'bad_name',
} as const;
export type FileErrorReason = (typeof FileErrorReason)[keyof typeof FileErrorReason];

/** A refused upload or a missing file; `reason` says which. */
export class FileError extends Error {
	readonly reason: FileErrorReason;

	constructor(reason: FileErrorReason, message: string) {
		super(message);
		this.name = 'FileError';
		this.reason = reason;
	}
}

/** The sidecar `<fileId>.json`. */
export interface FileMeta {
	fileId: string;
	room: string;
	/** Sanitised display name. */
	name: string;
	size: number;
	/** Canonical MIME type (no parameters). */
	mime: string;
	/** Identity (token `sub`) of the uploader. */
	uploader: string;
	/** Upload time, ms since the epoch. */
	ts: number;
}

export interface StoredFile extends FileMeta {
	/** Absolute path of the content. */
	path: string;
}

export interface SaveInput {
	room: string;
	uploader: string;
	/** Display name as given by the client; sanitised here. */
	name: string;
	/** Declared Content-Type; parameters are dropped, aliases resolved. */
	mime: string;
	/** The content. Destroyed when the upload is refused. */
	body: Readable;
	maxBytes: number;
}

export interface FileStoreOptions {
	/** The data directory (config.data.dir); files go to `<dataDir>/files`. */
	dataDir: string;
	logger?: Logger;
	/** Clock for `ts` (tests). */
	now?: () => number;
}

const FileMetaSchema = z.strictObject({
	fileId: z.string().regex(FILE_ID_PATTERN),
	room: RoomNameSchema,
	name: z.string().min(1).max(Limits.fileNameMax),
	size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
	mime: z.string().min(1).max(Limits.mimeMax),
	uploader: z.string().regex(IDENTITY_PATTERN),
	ts: z.number().int().min(0),
});

export function isValidFileId(fileId: unknown): fileId is string {
	return typeof fileId === 'string' && FILE_ID_PATTERN.test(fileId);
}

export function isValidRoom(room: unknown): room is string {
	return RoomNameSchema.safeParse(room).success;
}

/** 128 random bits, base64url: 22 characters of A-Z a-z 0-9 _ -. */
export function newFileId(): string {
	return randomBytes(16).toString('base64url');
}

export class FileStore {
	/** Absolute `<dataDir>/files`. */
	readonly root: string;
	readonly #log: Logger | undefined;
	readonly #now: () => number;

	constructor(options: FileStoreOptions) {
		this.root = path.resolve(options.dataDir, 'files');
		this.#log = options.logger?.child({ component: 'files' });
		this.#now = options.now ?? Date.now;
	}

	/**
	 * Stream `body` into the room's directory. Refuses (FileError, nothing left on disk)
	 * a bad name, a type outside the allowlist, content that does not match its declared
	 * type, and more than `maxBytes` bytes. Name and type are checked before any byte is read.
	 */
	async save(input: SaveInput): Promise<FileMeta> {
		const { room, uploader, body, maxBytes } = input;
		if (!isValidRoom(room)) throw new TypeError(`invalid room name ${JSON.stringify(room)}`);
		if (typeof uploader !== 'string' || !IDENTITY_PATTERN.test(uploader)) {
			throw new TypeError(`invalid uploader identity ${JSON.stringify(uploader)}`);
		}
		if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new TypeError(`invalid maxBytes ${maxBytes}`);
		const name = sanitizeFileName(input.name);
		if (name === null) throw new FileError(FileErrorReason.BadName, 'the file name is empty or invalid');
		const mime = normalizeMime(input.mime);
		if (mime === null) {
			throw new FileError(FileErrorReason.UnsupportedType, `files of type ${describeType(input.mime)} cannot be attached`);
		}

		const dir = this.#roomDir(room);
		await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
		const fileId = newFileId();
		const target = path.join(dir, fileId);
		// Temporary names start with a dot and so never match FILE_ID_PATTERN.
		const temp = path.join(dir, `.${fileId}.${randomBytes(6).toString('hex')}.part`);
		const guard = new UploadGuard(mime, maxBytes);
		try {
			await pipeline(body, guard, fs.createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
			await fsp.rename(temp, target);
		} catch (error) {
			await fsp.rm(temp, { force: true });
			throw error;
		}

		const meta: FileMeta = { fileId, room, name, size: guard.received, mime, uploader, ts: this.#now() };
		try {
			await writeFileAtomic(path.join(dir, `${fileId}.json`), JSON.stringify(meta));
		} catch (error) {
			await fsp.rm(target, { force: true });
			throw error;
		}
		this.#log?.debug({ room, fileId, size: meta.size, mime }, 'file stored');
		return meta;
	}

	/** The file's metadata and absolute path, or null (invalid ids, another room's file, missing). */
	async get(room: string, fileId: string): Promise<StoredFile | null> {
		if (!isValidRoom(room) || !isValidFileId(fileId)) return null;
		const dir = this.#roomDir(room);
		let meta: FileMeta;
		try {
			const parsed = FileMetaSchema.safeParse(JSON.parse(await fsp.readFile(path.join(dir, `${fileId}.json`), 'utf8')));
			if (!parsed.success) {
				this.#log?.warn({ room, fileId }, 'file metadata is invalid; treating the file as missing');
				return null;
			}
			meta = parsed.data;
		} catch (error) {
			if (isNotFound(error)) return null;
			if (error instanceof SyntaxError) {
				this.#log?.warn({ room, fileId }, 'file metadata is not JSON; treating the file as missing');
				return null;
			}
			throw error;
		}
		if (meta.room !== room || meta.fileId !== fileId) return null;
		const file = path.join(dir, fileId);
		try {
			const stat = await fsp.lstat(file);
			if (!stat.isFile() || stat.size !== meta.size) return null;
		} catch (error) {
			if (isNotFound(error)) return null;
			throw error;
		}
		return { ...meta, path: file };
	}

	/** What a chat message carries for an attachment `{ fileId }` of this room, or null. */
	async describe(room: string, fileId: string): Promise<ChatAttachment | null> {
		const file = await this.get(room, fileId);
		return file && { fileId: file.fileId, name: file.name, size: file.size, mime: file.mime };
	}

	#roomDir(room: string): string {
		// `room` has been validated (no separators, no dots first); this is defence in depth.
		const dir = path.join(this.root, room);
		if (path.dirname(dir) !== this.root) throw new TypeError(`invalid room name ${JSON.stringify(room)}`);
		return dir;
	}
}

/** Counts bytes (failing past maxBytes) and holds back the first bytes until they are sniffed. */
class UploadGuard extends Transform {
	received = 0;
	readonly #mime: string;
	readonly #maxBytes: number;
	#head: Buffer[] | null;
	#headLength = 0;

	constructor(mime: string, maxBytes: number) {
		super();
		this.#mime = mime;
		this.#maxBytes = maxBytes;
		this.#head = hasSignature(mime) ? [] : null;
	}

	override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
		const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
		this.received += bytes.length;
		if (this.received > this.#maxBytes) {
			callback(new FileError(FileErrorReason.TooLarge, `files are at most ${this.#maxBytes} bytes`));
			return;
		}
		if (this.#head === null) {
			callback(null, bytes);
			return;
		}
		this.#head.push(bytes);
		this.#headLength += bytes.length;
		if (this.#headLength >= SNIFF_BYTES) this.#release(callback);
		else callback();
	}

	override _flush(callback: TransformCallback): void {
		if (this.#head !== null) this.#release(callback);
		else callback();
	}

	#release(callback: TransformCallback): void {
		const head = Buffer.concat(this.#head ?? []);
		this.#head = null;
		if (!matchesSignature(this.#mime, head)) {
			callback(new FileError(FileErrorReason.TypeMismatch, `the content is not ${this.#mime}`));
			return;
		}
		callback(null, head);
	}
}

async function writeFileAtomic(file: string, data: string): Promise<void> {
	const temp = `${path.join(path.dirname(file), `.${path.basename(file)}`)}.${randomBytes(6).toString('hex')}.part`;
	try {
		await fsp.writeFile(temp, data, { flag: 'wx', mode: 0o600, flush: true });
		await fsp.rename(temp, file);
	} catch (error) {
		await fsp.rm(temp, { force: true });
		throw error;
	}
}

function isNotFound(error: unknown): boolean {
	const code = (error as NodeJS.ErrnoException | null)?.code;
	return code === 'ENOENT' || code === 'ENOTDIR';
}

function describeType(declared: unknown): string {
	if (typeof declared !== 'string' || declared.trim() === '') return '(none)';
	return JSON.stringify(declared.split(';', 1)[0]!.trim().slice(0, 100));
}
