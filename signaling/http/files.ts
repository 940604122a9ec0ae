/**
 * Chat attachments over HTTP.
 *
 *   POST /api/rooms/:room/files          raw body; Content-Type = the file's type,
 *                                        X-File-Name = encodeURIComponent(name),
 *                                        Authorization: Bearer <join token> (chat grant)
 *   GET  /api/rooms/:room/files/:fileId  Bearer header or ?token=<join token>
 *
 * The body is streamed to disk (never buffered), size-limited and type-sniffed by
 * FileStore. Downloads are always attachments, sandboxed and never cached.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { AuthError, verifyToken, type TokenClaims } from '../auth/tokens.ts';
import { FileError, FileErrorReason, type FileStore } from '../files/FileStore.ts';
import { normalizeMime, sanitizeFileName } from '../files/types.ts';
import { ErrorCode, type FileUploadResponse } from '../protocol/index.ts';
import { bearerToken, sendError } from './routes.ts';
import type { RevocationList } from '../auth/Revocations.ts';
import { roomUsage, scheduleRetention } from '../files/RoomQuota.ts';

export interface FilesRouterOptions {
	config: Pick<Config, 'auth' | 'files'>;
	store: FileStore;
	logger: Logger;
	/** Tokens of a removed participant are refused here too. */
	revocations?: Pick<RevocationList, 'isRevoked'>;
}

export function filesRouter({ config, store, logger, revocations }: FilesRouterOptions): Router {
	const log = logger.child({ component: 'files' });
	const router = express.Router();
	// Unref'd hourly sweep: lives as long as the process.
	scheduleRetention(store.root, config.files.retentionDays, log);

	/** The verified claims of a token for this room, or the refusal to answer (401/403). */
	async function authorize(req: Request, allowQueryToken: boolean): Promise<TokenClaims | Refusal> {
		let token: unknown;
		const header = req.get('authorization');
		if (header !== undefined) {
			token = bearerToken(header);
			if (!token) return refusal(401, ErrorCode.Unauthorized, 'the Authorization header must be "Bearer <token>"');
		} else if (allowQueryToken) {
			token = req.query.token;
			if (Array.isArray(token)) return refusal(401, ErrorCode.Unauthorized, 'give one token');
		}
		let claims: TokenClaims;
		try {
			claims = verifyToken(config.auth, token);
		} catch (error) {
			if (!(error instanceof AuthError)) throw error;
			return refusal(401, ErrorCode.Unauthorized, error.message);
		}
		if (claims.room !== req.params.room) return refusal(403, ErrorCode.Forbidden, 'the token is for another room');
		if (await revocations?.isRevoked(claims.room, claims.sub, claims.iat)) {
			return refusal(401, ErrorCode.Unauthorized, 'this participant was removed from the room');
		}
		return claims;
	}

	router.post('/api/rooms/:room/files', async (req: Request, res: Response) => {
		// Any refusal before the whole body is read closes the connection, so a client
		// cannot make the server read (and discard) an unbounded body.
		const refuse = (status: number, code: ErrorCode, message: string): void => {
			if (res.headersSent || res.destroyed) return;
			if (!req.complete) res.setHeader('Connection', 'close');
			sendError(res, status, code, message);
		};

		const claims = await authorize(req, false);
		if (claims instanceof Refusal) return refuse(claims.status, claims.code, claims.message);
		if (!claims.grants.chat) return refuse(403, ErrorCode.Forbidden, 'the token does not allow chat');

		const rawName = req.get('x-file-name');
		if (rawName === undefined || rawName === '') {
			return refuse(400, ErrorCode.BadRequest, 'the X-File-Name header (the URI-encoded file name) is required');
		}
		let name: string | null;
		try {
			name = sanitizeFileName(decodeURIComponent(rawName));
		} catch {
			return refuse(400, ErrorCode.BadRequest, 'X-File-Name must be URI-encoded (encodeURIComponent)');
		}
		if (name === null) return refuse(400, ErrorCode.BadRequest, 'the file name is empty or invalid');

		const declaredType = req.get('content-type');
		if (normalizeMime(declaredType) === null) {
			return refuse(415, ErrorCode.BadRequest, `files of type ${declaredType ? JSON.stringify(declaredType) : '(none)'} cannot be attached`);
		}
		// The room's quota: an upload may use only what is left of it.
		const left = config.files.roomQuotaBytes - (await roomUsage(store.root, claims.room));
		if (left <= 0) return refuse(413, ErrorCode.BadRequest, 'this room has used up its space for files');
		const maxBytes = Math.min(config.files.maxBytes, left);
		const declaredLength = req.get('content-length');
		if (declaredLength !== undefined && Number(declaredLength) > maxBytes) {
			return refuse(413, ErrorCode.BadRequest, `files are at most ${maxBytes} bytes`);
		}

		if (req.destroyed && !req.complete) return; // the client is already gone
		// A PassThrough between request and store: a refusal destroys the PassThrough, not
		// the request, so the answer can still be sent on the socket.
		const body = new PassThrough();
		const onClose = (): void => {
			if (!req.complete) body.destroy(new Error('the client aborted the upload'));
		};
		const onError = (error: Error): void => {
			body.destroy(error);
		};
		req.once('close', onClose);
		req.once('error', onError);
		req.pipe(body);
		try {
			const meta = await store.save({
				room: claims.room,
				uploader: claims.sub,
				name,
				mime: declaredType ?? '',
				body,
				maxBytes,
			});
			const answer: FileUploadResponse = { fileId: meta.fileId, name: meta.name, size: meta.size, mime: meta.mime };
			log.info({ room: meta.room, fileId: meta.fileId, size: meta.size, mime: meta.mime, uploader: meta.uploader }, 'file uploaded');
			res.status(201).json(answer);
		} catch (error) {
			if (error instanceof FileError) {
				log.info({ room: claims.room, uploader: claims.sub, reason: error.reason }, 'upload refused');
				const [status, code] = fileErrorStatus(error);
				return refuse(status, code, error.message);
			}
			if (req.destroyed && !req.complete) {
				log.info({ room: claims.room, uploader: claims.sub }, 'upload aborted by the client');
				return;
			}
			const errno = (error as NodeJS.ErrnoException).code;
			if (errno === 'ENOSPC' || errno === 'EDQUOT') {
				// The operator's problem, the person's answer: nothing was kept, try again later.
				log.error({ err: error, room: claims.room, dir: store.root }, 'upload failed: no space left on the data disk');
				return refuse(507, ErrorCode.Unavailable, 'the server has no space left for files right now; try again later');
			}
			log.error({ err: error, room: claims.room }, 'upload failed');
			refuse(500, ErrorCode.Internal, 'internal error');
		} finally {
			req.unpipe(body);
			req.off('close', onClose);
			req.off('error', onError);
		}
	});

	router.get('/api/rooms/:room/files/:fileId', async (req: Request, res: Response) => {
		const claims = await authorize(req, true);
		if (claims instanceof Refusal) return sendError(res, claims.status, claims.code, claims.message);
		// An invalid id, another room's file and a missing file all look the same.
		const file = await store.get(claims.room, String(req.params.fileId));
		let handle: FileHandle | null = null;
		if (file) {
			try {
				handle = await fsp.open(file.path, 'r');
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
			}
		}
		if (!file || !handle) return sendError(res, 404, ErrorCode.NotFound, 'no such file');
		try {
			const { size } = await handle.stat();
			res.status(200);
			res.setHeader('Content-Type', file.mime);
			res.setHeader('Content-Length', String(size));
			res.setHeader('Content-Disposition', attachmentDisposition(file.name));
			res.setHeader('X-Content-Type-Options', 'nosniff');
			res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
			res.setHeader('Cache-Control', 'private, no-store');
			res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
			res.setHeader('Referrer-Policy', 'no-referrer');
			if (req.method === 'HEAD') {
				res.end();
				return;
			}
			await pipeline(handle.createReadStream({ autoClose: false }), res);
		} catch (error) {
			if (res.headersSent) {
				// The client went away mid-download, or the read failed after the headers.
				log.debug({ err: error, room: claims.room, fileId: file.fileId }, 'download interrupted');
				res.destroy();
				return;
			}
			throw error;
		} finally {
			await handle.close();
		}
	});

	return router;
}

class Refusal {
	readonly status: number;
	readonly code: ErrorCode;
	readonly message: string;

	constructor(status: number, code: ErrorCode, message: string) {
		this.status = status;
		this.code = code;
		this.message = message;
	}
}

function refusal(status: number, code: ErrorCode, message: string): Refusal {
	return new Refusal(status, code, message);
}

function fileErrorStatus(error: FileError): [number, ErrorCode] {
	switch (error.reason) {
		case FileErrorReason.TooLarge:
			return [413, ErrorCode.BadRequest];
		case FileErrorReason.UnsupportedType:
		case FileErrorReason.TypeMismatch:
			return [415, ErrorCode.BadRequest];
		case FileErrorReason.BadName:
			return [400, ErrorCode.BadRequest];
		case FileErrorReason.NotFound:
			return [404, ErrorCode.NotFound];
	}
}

/** `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 8187 encoding>`. */
export function attachmentDisposition(name: string): string {
	const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
	const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
	return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
