/**
 * Invitations: a link that admits anyone who has it to one room, with a role and an
 * expiry but no identity. The lobby exchanges it (POST /api/invites/redeem) for the
 * person's own join token. An invitation is an HS256 JWT with its own audience
 * (`<audience>:invite`), so it can never be used as a join token, and an id (`jti`) that
 * the InviteStore can revoke.
 */
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/index.ts';
import { InviteRoleSchema, RoomNameSchema, type InviteRole } from '../protocol/index.ts';
import { AuthError, AuthFailure, verifySigned } from './tokens.ts';

type AuthConfig = Pick<Config['auth'], 'jwtSecrets' | 'audience' | 'issuer'>;

const InviteClaimsSchema = z.looseObject({
	room: RoomNameSchema,
	role: InviteRoleSchema.default('participant'),
	jti: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
	exp: z.number().int(),
});
export type InviteClaims = z.output<typeof InviteClaimsSchema>;

export function inviteAudience(auth: Pick<AuthConfig, 'audience'>): string {
	return `${auth.audience}:invite`;
}

export function newInviteId(): string {
	return randomBytes(9).toString('base64url');
}

export function mintInvite(auth: AuthConfig, options: { room: string; role: InviteRole; ttlSeconds: number; id?: string }): { invite: string; id: string; expiresAt: number } {
	const secret = auth.jwtSecrets[0];
	if (!secret) throw new Error('no JWT secret configured');
	const id = options.id ?? newInviteId();
	const invite = jwt.sign({ room: RoomNameSchema.parse(options.room), role: options.role }, secret, {
		algorithm: 'HS256',
		expiresIn: options.ttlSeconds,
		audience: inviteAudience(auth),
		issuer: auth.issuer,
		jwtid: id,
	});
	return { invite, id, expiresAt: Math.floor(Date.now() / 1000) + options.ttlSeconds };
}

export function verifyInvite(auth: AuthConfig, invite: unknown): InviteClaims {
	const payload = verifySigned(auth, invite, { audience: inviteAudience(auth), what: 'invitation' });
	const claims = InviteClaimsSchema.safeParse(payload);
	if (!claims.success) throw new AuthError(AuthFailure.BadClaims, 'bad invitation claims');
	return claims.data;
}
