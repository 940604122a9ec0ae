/**
 * Recordings over HTTP.
 *
 *   GET /api/rooms/:room/recording                   whether the meeting is being recorded (the
 *                                                    lobby's consent notice): open in dev mode,
 *                                                    else Bearer <join token or invitation> of the room
 *   GET /api/rooms/:room/recordings                  a host's list of the room's recordings
 *   GET /api/rooms/:room/recordings/:id/:file        download one file (Bearer or ?token=, as files)
 *
 * Listing and downloads are for hosts and co-hosts of that room (the token's role, or the
 * role the meeting gave them); everyone else gets `forbidden`.
 */
import express, { type Request, type Response, type Router } from 'express';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { verifyInvite } from '../auth/invites.ts';
import type { RevocationList } from '../auth/Revocations.ts';
import { verifyToken, type TokenClaims } from '../auth/tokens.ts';
import { ErrorCode, ProtocolError, RoomNameSchema, type RecordingListResponse, type RoomRecordingResponse } from '../protocol/index.ts';
import type { RecordingService } from '../recording/RecordingService.ts';
import { bearerToken, sendError } from './routes.ts';
import { toErrorBody } from '../rpc.ts';

export interface RecordingsRouterOptions {
	config: Pick<Config, 'auth' | 'dev'>;
	recordings: RecordingService;
	revocations: Pick<RevocationList, 'isRevoked'>;
	/** Whether an identity is a host or co-host of a running meeting now. */
	isModerator?: (room: string, identity: string) => boolean;
	logger: Logger;
}

export function recordingsRouter({ config, recordings, revocations, isModerator, logger }: RecordingsRouterOptions): Router {
	const router = express.Router();

	const bearer = (req: Request, allowQuery: boolean): string | undefined => {
		const token = bearerToken(req.get('authorization'));
		if (token) return token;
		const query = allowQuery ? req.query.token : undefined;
		return typeof query === 'string' ? query : undefined;
	};

	const roomOf = (req: Request, res: Response): string | null => {
		const parsed = RoomNameSchema.safeParse(req.params.room);
		if (parsed.success) return parsed.data;
		sendError(res, 404, ErrorCode.NotFound, 'no such room');
		return null;
	};

	/** A host's verified claims for this room, or null with the refusal sent. */
	const host = async (req: Request, res: Response, room: string, allowQuery: boolean): Promise<TokenClaims | null> => {
		let claims: TokenClaims;
		try {
			claims = verifyToken(config.auth, bearer(req, allowQuery));
		} catch (error) {
			sendError(res, 401, ErrorCode.Unauthorized, (error as Error).message);
			return null;
		}
		if (claims.room !== room) {
			sendError(res, 403, ErrorCode.Forbidden, 'the token is for another room');
			return null;
		}
		if (await revocations.isRevoked(claims.room, claims.sub, claims.iat)) {
			sendError(res, 401, ErrorCode.Unauthorized, 'this participant was removed from the room');
			return null;
		}
		if (claims.role !== 'host' && !isModerator?.(room, claims.sub)) {
			sendError(res, 403, ErrorCode.Forbidden, 'only hosts can list and download recordings');
			return null;
		}
		return claims;
	};

	router.get('/api/rooms/:room/recording', (req: Request, res: Response) => {
		const room = roomOf(req, res);
		if (!room) return;
		if (!config.dev) {
			const credential = bearer(req, false);
			let forRoom: string | null = null;
			try {
				forRoom = verifyToken(config.auth, credential).room;
			} catch {
				try {
					forRoom = verifyInvite(config.auth, credential).room;
				} catch {
					sendError(res, 401, ErrorCode.Unauthorized, 'give the join token or invitation of this room');
					return;
				}
			}
			if (forRoom !== room) {
				sendError(res, 403, ErrorCode.Forbidden, 'the token is for another room');
				return;
			}
		}
		const state = recordings.state(room);
		const body: RoomRecordingResponse = { recording: state.active, startedAt: state.startedAt };
		res.setHeader('Cache-Control', 'no-store');
		res.json(body);
	});

	router.get('/api/rooms/:room/recordings', async (req: Request, res: Response) => {
		const room = roomOf(req, res);
		if (!room || !(await host(req, res, room, false))) return;
		const body: RecordingListResponse = { recordings: await recordings.store.list(room) };
		res.setHeader('Cache-Control', 'no-store');
		res.json(body);
	});

	router.get('/api/rooms/:room/recordings/:id/:file', async (req: Request, res: Response) => {
		const room = roomOf(req, res);
		if (!room) return;
		const claims = await host(req, res, room, true);
		if (!claims) return;
		const file = await recordings.store.filePath(room, String(req.params.id), String(req.params.file));
		if (!file) {
			sendError(res, 404, ErrorCode.NotFound, 'no such recording file');
			return;
		}
		logger.info({ roomId: room, peerId: claims.sub, file: req.params.file }, 'recording downloaded');
		res.setHeader('Cache-Control', 'no-store');
		res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
		// Relative to its folder: `dotfiles` is checked on the file's own name, not on the data folder's path.
		res.download(path.basename(file), String(req.params.file), { root: path.dirname(file), dotfiles: 'deny', headers: { 'Content-Type': file.endsWith('.webm') ? 'video/webm' : file.endsWith('.mp4') ? 'video/mp4' : 'video/x-matroska' } }, (err) => {
			if (err && !res.headersSent) sendError(res, 404, ErrorCode.NotFound, 'no such recording file');
		});
	});

	return router;
}

const ADMIN_STATUS: Partial<Record<ErrorCode, number>> = { not_found: 404, invalid_state: 409, limit_exceeded: 507, unavailable: 503 };

/** The operator's recording endpoints under /admin (`npm run admin -- record ...`), behind the admin check. */
export function recordingAdminRoutes(recordings: RecordingService): Router {
	const router = express.Router();
	const answer = async (res: Response, room: unknown, act: (room: string) => Promise<unknown>): Promise<void> => {
		try {
			const parsed = RoomNameSchema.safeParse(room);
			if (!parsed.success) throw new ProtocolError(ErrorCode.NotFound, 'no such room');
			res.json(await act(parsed.data));
		} catch (error) {
			const body = toErrorBody(error);
			sendError(res, ADMIN_STATUS[body.code] ?? 500, body.code, body.message);
		}
	};
	router.get('/recordings', (_req: Request, res: Response) => {
		res.json({ recording: recordings.recordingRooms.map((room) => ({ room, ...recordings.state(room) })) });
	});
	router.get('/rooms/:room/recordings', (req: Request, res: Response) =>
		answer(res, req.params.room, async (room) => ({ recording: recordings.state(room), recordings: await recordings.store.list(room) })),
	);
	router.post('/rooms/:room/recording/start', (req: Request, res: Response) =>
		answer(res, req.params.room, async (room) => ({ recording: await recordings.start(room, 'operator') })),
	);
	router.post('/rooms/:room/recording/stop', (req: Request, res: Response) =>
		answer(res, req.params.room, async (room) => {
			if (!recordings.state(room).active) throw new ProtocolError(ErrorCode.InvalidState, `${room} is not being recorded`);
			await recordings.stop(room, 'operator');
			return { recordings: await recordings.store.list(room) };
		}),
	);
	return router;
}
