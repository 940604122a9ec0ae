/**
 * Join tokens: HS256 JWTs naming a room, an identity and what the holder may do.
 * Verification pins the algorithm, requires `exp`, and checks audience and issuer;
 * several secrets may verify (rotation), the first one signs.
 */
import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/index.ts';
import { DisplayNameSchema, IdentitySchema, MediaSourceSchema, RoomNameSchema } from '../protocol/index.ts';

export const GrantsSchema = z.strictObject({
	/** May publish media (the sources listed, or all when omitted). */
	publish: z.boolean().default(true),
	publishSources: z.array(MediaSourceSchema).optional(),
	/** May receive others' media. */
	subscribe: z.boolean().default(true),
	/** May send chat messages. */
	chat: z.boolean().default(true),
	/** Enters directly even when the meeting has a waiting room. */
	skipWaitingRoom: z.boolean().default(false),
	/** Their media may be recorded; false: no track of theirs is ever recorded. */
	recordable: z.boolean().default(true),
});
export type Grants = z.output<typeof GrantsSchema>;

export const TokenClaimsSchema = z.looseObject({
	sub: IdentitySchema,
	room: RoomNameSchema,
	name: DisplayNameSchema,
	grants: GrantsSchema.prefault({}),
	/** host: may moderate the meeting (mute, remove, lock, end, admit); participant: the default. */
	role: z.enum(['host', 'participant']).default('participant'),
	exp: z.number().int(),
	iat: z.number().int().optional(),
});
export type TokenClaims = z.output<typeof TokenClaimsSchema>;

export const AuthFailure = {
	Missing: 'missing',
	Malformed: 'malformed',
	Expired: 'expired',
	BadSignature: 'bad_signature',
	WrongAudience: 'wrong_audience',
	WrongIssuer: 'wrong_issuer',
	BadClaims: 'bad_claims',
	TooLong: 'lifetime_too_long',
	Revoked: 'revoked',
} as const;
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

export class AuthError extends Error {
	readonly reason: AuthFailure;

	constructor(reason: AuthFailure, message: string) {
		super(message);
		this.name = 'AuthError';
		this.reason = reason;
	}
}

type AuthConfig = Pick<Config['auth'], 'jwtSecrets' | 'audience' | 'issuer' | 'tokenTtlSeconds'> &
	Partial<Pick<Config['auth'], 'maxTokenLifetimeSeconds'>>;

/** Clock skew tolerated between the token issuer and this server (seconds). */
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface MintOptions {
	room: string;
	identity?: string;
	name: string;
	grants?: Partial<Grants>;
	role?: 'host' | 'participant';
	ttlSeconds?: number;
}

export function mintToken(auth: AuthConfig, options: MintOptions): { token: string; identity: string; expiresAt: number } {
	const secret = auth.jwtSecrets[0];
	if (!secret) throw new Error('no JWT secret configured');
	const identity = options.identity ?? `u-${randomUUID().slice(0, 12)}`;
	const ttl = options.ttlSeconds ?? auth.tokenTtlSeconds;
	const claims = {
		sub: identity,
		room: RoomNameSchema.parse(options.room),
		name: DisplayNameSchema.parse(options.name),
		grants: GrantsSchema.parse(options.grants ?? {}),
		...(options.role === 'host' ? { role: 'host' } : {}),
	};
	const token = jwt.sign(claims, secret, {
		algorithm: 'HS256',
		expiresIn: ttl,
		audience: auth.audience,
		issuer: auth.issuer,
	});
	return { token, identity, expiresAt: Math.floor(Date.now() / 1000) + ttl };
}

export function verifyToken(auth: AuthConfig, token: unknown): TokenClaims {
	const payload = verifySigned(auth, token, { audience: auth.audience, what: 'token' });
	const claims = TokenClaimsSchema.safeParse(payload);
	if (!claims.success) {
		const first = claims.error.issues[0];
		throw new AuthError(AuthFailure.BadClaims, `bad claim ${first?.path.join('.') || ''}: ${first?.message ?? 'invalid'}`);
	}
	checkLifetime(auth, claims.data);
	return claims.data;
}

/**
 * An HS256 JWT's payload object, verified with each configured secret in turn (rotation:
 * only a signature mismatch moves on to the next, older secret), the algorithm pinned,
 * `exp` required, audience and issuer checked. Shared by join tokens and invitations.
 */
export function verifySigned(
	auth: Pick<AuthConfig, 'jwtSecrets' | 'issuer'>,
	value: unknown,
	options: { audience: string; what: 'token' | 'invitation' },
): jwt.JwtPayload {
	const { what } = options;
	if (typeof value !== 'string' || value.length === 0) throw new AuthError(AuthFailure.Missing, `no ${what} given`);
	if (value.length > 4096) throw new AuthError(AuthFailure.Malformed, `${what} too long`);
	let lastError: AuthError | undefined;
	for (const secret of auth.jwtSecrets) {
		try {
			const payload = jwt.verify(value, secret, {
				algorithms: ['HS256'],
				audience: options.audience,
				issuer: auth.issuer,
				clockTolerance: CLOCK_TOLERANCE_SECONDS,
			});
			if (typeof payload === 'string') throw new AuthError(AuthFailure.Malformed, `${what} payload is not an object`);
			return payload;
		} catch (error) {
			if (error instanceof AuthError) throw error;
			lastError = classify(error);
			if (lastError.reason !== AuthFailure.BadSignature) throw lastError;
		}
	}
	throw lastError ?? new AuthError(AuthFailure.BadSignature, 'no secret configured');
}

/** A token may not live longer than the configured maximum (from its iat, or from now without one). */
function checkLifetime(auth: AuthConfig, claims: TokenClaims): void {
	const max = auth.maxTokenLifetimeSeconds;
	if (max === undefined) return;
	const now = Math.floor(Date.now() / 1000);
	const from = Math.min(claims.iat ?? now, now);
	if (claims.exp - from > max + CLOCK_TOLERANCE_SECONDS) {
		throw new AuthError(AuthFailure.TooLong, `token lifetime exceeds the maximum of ${max} s`);
	}
}

/** Milliseconds until a token's exp (plus the clock tolerance) passes; <= 0: expired. */
export function msUntilExpiry(claims: Pick<TokenClaims, 'exp'>, now = Date.now()): number {
	return (claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000 - now;
}

/** A jsonwebtoken error as an AuthError with a reason a client can switch on. */
export function classify(error: unknown): AuthError {
	if (error instanceof jwt.TokenExpiredError) return new AuthError(AuthFailure.Expired, 'token expired');
	if (error instanceof jwt.JsonWebTokenError) {
		const m = error.message;
		if (m.startsWith('jwt audience invalid')) return new AuthError(AuthFailure.WrongAudience, 'token is for another audience');
		if (m.startsWith('jwt issuer invalid')) return new AuthError(AuthFailure.WrongIssuer, 'token from another issuer');
		if (m === 'invalid signature') return new AuthError(AuthFailure.BadSignature, 'invalid token signature');
		return new AuthError(AuthFailure.Malformed, `invalid token: ${m}`);
	}
	return new AuthError(AuthFailure.Malformed, 'invalid token');
}
