/**
 * The HTTP API: public info, the dev-mode token endpoint. Bodies are validated
 * with zod and errors answered as `{ error: { code, message } }`.
 */
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import { mintToken } from '../auth/tokens.ts';
import {
	DevTokenRequestSchema,
	ErrorCode,
	type DevTokenResponse,
	type ErrorCode as Code,
	type RtpCapabilities,
	type ServerInfoResponse,
} from '../protocol/index.ts';
import { describeZodError } from '../rpc.ts';
import { devMediaStatsRoute } from './devMediaStats.ts';

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none or it has another form. */
export function bearerToken(header: string | undefined): string | undefined {
	return header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] : undefined;
}

export function sendError(res: Response, status: number, code: Code, message: string): void {
	res.status(status).json({ error: { code, message } });
}

export function apiRouter(config: Config, sfu: Sfu): Router {
	const router = express.Router();

	router.get('/api/info', async (req: Request, res: Response) => {
		const body: ServerInfoResponse = { dev: config.dev, publicUrl: config.http.publicUrl };
		try {
			body.rtpCapabilities = (await sfu.rtpCapabilities()) as RtpCapabilities;
		} catch (error) {
			// The lobby loads the Device at join time instead.
			req.log.warn({ err: error }, 'router capabilities unavailable for /api/info');
		}
		res.json(body);
	});

	// Outside dev mode the body is never read: refused at once, connection closed.
	const devOnly = (req: Request, res: Response, next: () => void): void => {
		if (config.dev) return next();
		if (!req.complete) res.setHeader('Connection', 'close');
		sendError(res, 404, ErrorCode.NotFound, 'the dev token endpoint exists only in dev mode');
	};
	router.post('/api/dev/token', devOnly, express.json({ limit: '4kb' }), (req: Request, res: Response) => {
		const parsed = DevTokenRequestSchema.safeParse(req.body);
		if (!parsed.success) {
			sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
			return;
		}
		const minted = mintToken(config.auth, {
			room: parsed.data.room,
			name: parsed.data.name,
			...(parsed.data.identity ? { identity: parsed.data.identity } : {}),
		});
		const body: DevTokenResponse = { ...minted, room: parsed.data.room };
		res.json(body);
	});

	devMediaStatsRoute(router, config, sfu, sendError);

	router.use('/api', (_req: Request, res: Response) => sendError(res, 404, ErrorCode.NotFound, 'no such endpoint'));
	return router;
}

/** Malformed JSON and oversized bodies get a typed 4xx, anything else a 500 without details. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
	const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
	if (status >= 400 && status < 500) {
		sendError(res, status, ErrorCode.BadRequest, (error as Error).message || 'bad request');
		return;
	}
	req.log.error({ err: error }, 'http request failed');
	sendError(res, 500, ErrorCode.Internal, 'internal error');
};
