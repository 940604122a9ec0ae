/**
 * Who may read operator endpoints: a request from this machine (loopback, not relayed
 * by a proxy) or one with the configured bearer token. Without a token configured,
 * only this machine gets in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCode } from '../protocol/index.ts';
import { sendError } from '../http/routes.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** A direct connection from this machine: loopback peer address and no proxy headers. */
export function isLocal(req: Request): boolean {
	const address = req.socket.remoteAddress ?? '';
	return LOOPBACK.test(address) && req.headers['x-forwarded-for'] === undefined && req.headers.forwarded === undefined;
}

function digest(value: string): Buffer {
	return createHash('sha256').update(value).digest();
}

/** Compare a presented bearer token with the configured one in constant time. */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
	if (!token || !header) return false;
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
	return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

/** Middleware: local requests or the bearer token; others get 401 (token set) or 403 (none set). */
export function requireOperator(token: string | undefined, what: string): RequestHandler {
	return (req: Request, res: Response, next: NextFunction) => {
		if (isLocal(req) || bearerMatches(req.headers.authorization, token)) {
			next();
			return;
		}
		if (!token) {
			sendError(res, 403, ErrorCode.Forbidden, `${what} is only reachable from this machine unless a token is configured`);
			return;
		}
		res.setHeader('WWW-Authenticate', 'Bearer realm="parley"');
		sendError(res, 401, ErrorCode.Unauthorized, `${what} needs the operator's bearer token`);
	};
}
