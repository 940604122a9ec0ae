/**
 * Slow requests are cut. Node's server cuts slow headers (`headersTimeout`); bodies get a
 * per-route rule here instead of one global `requestTimeout`:
 *   - uploads (POST /api/rooms/:room/files) may take long but must keep moving: at least
 *     `minBytesPerWindow` every `windowMs`, and `maxMs` in all;
 *   - every other request must have its whole body within `bodyMs`.
 * A cut request is answered 408 (when nothing was sent yet) and its connection closed.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode } from '../protocol/index.ts';
import { sendError } from './routes.ts';

export const HttpTimeouts = {
	/** Whole request headers (Node's headersTimeout). */
	headersMs: 10_000,
	/** Whole body of an ordinary request. */
	bodyMs: 10_000,
	/** Uploads: progress required per window... */
	uploadWindowMs: 10_000,
	uploadMinBytesPerWindow: 16 * 1024,
	/** ...and the longest upload. */
	uploadMaxMs: 30 * 60_000,
	/** Idle keep-alive connections between requests. */
	keepAliveMs: 5_000,
	/** A WebSocket/polling client must authenticate (Socket.IO namespace CONNECT) this soon. */
	socketConnectMs: 5_000,
};
export type HttpTimeouts = typeof HttpTimeouts;

const UPLOAD = /^\/api\/rooms\/[^/]+\/files\/?$/;

export function requestTimeouts(timeouts: HttpTimeouts = HttpTimeouts): RequestHandler {
	return (req, res, next) => {
		if (req.complete) return next();
		const upload = req.method === 'POST' && UPLOAD.test(req.path);
		const stop = upload ? watchUpload(req, res, timeouts) : watchBody(req, res, timeouts.bodyMs);
		// Not stopped when the answer is sent: an unread body keeps the connection busy too.
		req.once('end', stop);
		req.once('close', stop);
		next();
	};
}

function cut(req: Request, res: Response, message: string): void {
	req.log?.info({ url: req.path }, message);
	if (!res.headersSent && !res.destroyed) {
		res.setHeader('Connection', 'close');
		sendError(res, 408, ErrorCode.BadRequest, message);
		res.once('finish', () => req.socket.destroy());
	} else {
		req.socket.destroy();
	}
}

function watchBody(req: Request, res: Response, ms: number): () => void {
	const timer = setTimeout(() => {
		if (!req.complete) cut(req, res, `the request body did not arrive within ${ms / 1000} s`);
	}, ms);
	timer.unref();
	return () => clearTimeout(timer);
}

function watchUpload(req: Request, res: Response, t: HttpTimeouts): () => void {
	// Bytes read off the connection (reading them does not consume the body stream).
	let atLastCheck = req.socket.bytesRead;
	const started = Date.now();
	const timer = setInterval(() => {
		if (req.complete) return stop();
		const received = req.socket.bytesRead;
		if (received - atLastCheck < t.uploadMinBytesPerWindow) {
			stop();
			cut(req, res, `the upload is too slow (under ${t.uploadMinBytesPerWindow} bytes in ${t.uploadWindowMs / 1000} s)`);
		} else if (Date.now() - started > t.uploadMaxMs) {
			stop();
			cut(req, res, `uploads may take at most ${t.uploadMaxMs / 60_000} minutes`);
		}
		atLastCheck = received;
	}, t.uploadWindowMs);
	timer.unref();
	const stop = (): void => clearInterval(timer);
	return stop;
}
