/**
 * Links: checking a join token or invitation before joining (so the lobby can say at once
 * that a link is broken or expired), and invitations: hosts create, list and revoke them
 * with their own join token (`Authorization: Bearer`); anyone with one exchanges it for a
 * join token of their own.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { mintInvite, verifyInvite } from '../auth/invites.ts';
import type { InviteStore } from '../auth/InviteStore.ts';
import type { RevocationList } from '../auth/Revocations.ts';
import { AuthError, AuthFailure, mintToken, verifyToken, type TokenClaims } from '../auth/tokens.ts';
import {
	ErrorCode,
	InviteCreateRequestSchema,
	InviteRedeemRequestSchema,
	InviteRoleSchema,
	LinkCheckRequestSchema,
	type InviteCreateResponse,
	type InviteListResponse,
	type InviteRedeemResponse,
	type InviteRole,
	type LinkCheckResponse,
	type LinkProblem,
} from '../protocol/index.ts';
import { describeZodError } from '../rpc.ts';
import { sendError } from './routes.ts';

const DEFAULT_INVITE_TTL_SECONDS = 86_400;

/** The role a join token gives (tokens without one are participants). */
export function roleOf(claims: TokenClaims): InviteRole {
	const parsed = InviteRoleSchema.safeParse((claims as Record<string, unknown>).role);
	return parsed.success ? parsed.data : 'participant';
}

/** Who may make and revoke invitations: hosts and co-hosts; in dev mode anyone (anyone can mint tokens there anyway). */
export function canManageInvites(config: Config, claims: TokenClaims): boolean {
	return config.dev || roleOf(claims) !== 'participant';
}

function problem(error: unknown): LinkProblem {
	return error instanceof AuthError ? error.reason : AuthFailure.Malformed;
}

export interface InvitesRouterOptions {
	config: Config;
	store: InviteStore;
	logger: Logger;
	/** Removed participants: their tokens are told as revoked and cannot manage invitations. */
	revocations: RevocationList;
	/** Per client address: whether one more redemption may go (each mints a join token). */
	limit: (address: string) => Promise<boolean>;
}

export function invitesRouter({ config, store, logger, revocations, limit }: InvitesRouterOptions): Router {
	const router = express.Router();
	const json = express.json({ limit: '8kb' });

	router.post('/api/links/check', json, async (req: Request, res: Response) => {
		const parsed = LinkCheckRequestSchema.safeParse(req.body);
		if (!parsed.success) {
			sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
			return;
		}
		let body: LinkCheckResponse;
		if ('token' in parsed.data) {
			try {
				const claims = verifyToken(config.auth, parsed.data.token);
				if (await revocations.isRevoked(claims.room, claims.sub, claims.iat)) {
					throw new AuthError(AuthFailure.Revoked, 'this participant was removed from the room');
				}
				body = { valid: true, kind: 'token', room: claims.room, name: claims.name, role: roleOf(claims), expiresAt: claims.exp };
			} catch (error) {
				body = { valid: false, kind: 'token', reason: problem(error), message: (error as Error).message };
			}
		} else {
			try {
				const claims = verifyInvite(config.auth, parsed.data.invite);
				if (store.isRevoked(claims.jti)) throw new AuthError(AuthFailure.Revoked, 'invitation revoked');
				body = { valid: true, kind: 'invite', room: claims.room, name: null, role: claims.role, expiresAt: claims.exp };
			} catch (error) {
				body = { valid: false, kind: 'invite', reason: problem(error), message: (error as Error).message };
			}
		}
		res.json(body);
	});

	router.post('/api/invites/redeem', json, async (req: Request, res: Response) => {
		if (!(await limit(req.ip ?? req.socket.remoteAddress ?? ''))) {
			sendError(res, 429, ErrorCode.RateLimited, 'too many requests');
			return;
		}
		const parsed = InviteRedeemRequestSchema.safeParse(req.body);
		if (!parsed.success) {
			sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
			return;
		}
		let claims;
		try {
			claims = verifyInvite(config.auth, parsed.data.invite);
			if (store.isRevoked(claims.jti)) throw new AuthError(AuthFailure.Revoked, 'invitation revoked');
		} catch (error) {
			sendError(res, 401, ErrorCode.Unauthorized, `invitation refused: ${(error as Error).message}`);
			return;
		}
		// A fresh identity each time: an invitation names nobody, so it must not let its holder take over someone's session.
		const minted = mintToken(config.auth, { room: claims.room, name: parsed.data.name, role: claims.role });
		logger.info({ roomId: claims.room, peerId: minted.identity, invite: claims.jti, role: claims.role }, 'invitation redeemed');
		const body: InviteRedeemResponse = { token: minted.token, identity: minted.identity, room: claims.room, role: claims.role, expiresAt: minted.expiresAt };
		res.json(body);
	});

	/** The bearer's verified claims, or an answer already sent. */
	const host = async (req: Request, res: Response): Promise<TokenClaims | null> => {
		const header = req.get('authorization') ?? '';
		const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
		let claims: TokenClaims;
		try {
			claims = verifyToken(config.auth, token);
		} catch (error) {
			sendError(res, 401, ErrorCode.Unauthorized, (error as Error).message);
			return null;
		}
		if (await revocations.isRevoked(claims.room, claims.sub, claims.iat)) {
			sendError(res, 401, ErrorCode.Unauthorized, 'this participant was removed from the room');
			return null;
		}
		if (!canManageInvites(config, claims)) {
			sendError(res, 403, ErrorCode.Forbidden, 'only hosts can manage invitations');
			return null;
		}
		return claims;
	};

	router.post('/api/invites', json, async (req: Request, res: Response) => {
		const claims = await host(req, res);
		if (!claims) return;
		const parsed = InviteCreateRequestSchema.safeParse(req.body ?? {});
		if (!parsed.success) {
			sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
			return;
		}
		// A co-host cannot create hosts.
		if (parsed.data.role === 'host' && roleOf(claims) !== 'host' && !config.dev) {
			sendError(res, 403, ErrorCode.Forbidden, 'only hosts can invite hosts');
			return;
		}
		if (!store.hasRoomFor(claims.room)) {
			sendError(res, 429, ErrorCode.RateLimited, 'this room has too many open invitations; revoke some first');
			return;
		}
		const ttlSeconds = parsed.data.ttlSeconds ?? DEFAULT_INVITE_TTL_SECONDS;
		const minted = mintInvite(config.auth, { room: claims.room, role: parsed.data.role, ttlSeconds });
		const info = {
			id: minted.id,
			room: claims.room,
			role: parsed.data.role,
			createdBy: claims.name,
			createdAt: Date.now(),
			expiresAt: minted.expiresAt,
			revoked: false,
		};
		store.add(info);
		logger.info({ roomId: claims.room, peerId: claims.sub, invite: info.id, role: info.role }, 'invitation created');
		const url = `${config.http.publicUrl?.replace(/\/+$/, '')}/r/${encodeURIComponent(claims.room)}?invite=${minted.invite}`;
		const body: InviteCreateResponse = { ...info, invite: minted.invite, url };
		res.status(201).json(body);
	});

	router.get('/api/invites', async (req: Request, res: Response) => {
		const claims = await host(req, res);
		if (!claims) return;
		const body: InviteListResponse = { invites: store.list(claims.room) };
		res.json(body);
	});

	router.delete('/api/invites/:id', async (req: Request, res: Response) => {
		const claims = await host(req, res);
		if (!claims) return;
		const id = String(req.params.id ?? '');
		if (!/^[A-Za-z0-9_-]{8,64}$/.test(id) || !store.revoke(claims.room, id)) {
			sendError(res, 404, ErrorCode.NotFound, 'no such invitation in this room');
			return;
		}
		logger.info({ roomId: claims.room, peerId: claims.sub, invite: id }, 'invitation revoked');
		res.json({});
	});

	return router;
}
