/**
 * Who may stay connected: the handshake checks the join token (signature, claims, maximum
 * lifetime) and the revocation list; a live session ends when its token expires or its
 * identity is revoked in its room (`session:ended` with the reason, then disconnect).
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { ErrorCode, type SessionEndReason } from '../protocol/index.ts';
import { channels, type ParleyServer, type ParleySocket } from '../session.ts';
import type { RevocationList } from './Revocations.ts';
import { AuthError, AuthFailure, msUntilExpiry, verifyToken } from './tokens.ts';

/** setTimeout's longest delay; a longer wait re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SessionGuardOptions {
	io: ParleyServer;
	auth: Config['auth'];
	revocations: RevocationList;
	log: Logger;
}

/** Install the handshake check and the revocation listener; returns the per-connection hook. */
export function installSessionGuard({ io, auth, revocations, log }: SessionGuardOptions): (socket: ParleySocket) => void {
	io.use((socket, next) => {
		const refuse = (reason: string): void => {
			log.info({ reason, address: socket.handshake.address }, 'handshake refused');
			const err = new Error(`unauthorized: ${reason}`) as Error & { data?: unknown };
			err.data = { code: ErrorCode.Unauthorized, message: reason };
			next(err);
		};
		let claims;
		try {
			const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
			claims = verifyToken(auth, token);
		} catch (error) {
			refuse(error instanceof AuthError ? error.message : 'invalid token');
			return;
		}
		revocations.isRevoked(claims.room, claims.sub, claims.iat).then(
			(revoked) => {
				if (revoked) return refuse(new AuthError(AuthFailure.Revoked, 'this participant was removed from the room').message);
				socket.data.claims = claims;
				next();
			},
			(error: unknown) => {
				log.error({ err: error }, 'revocation check failed');
				const err = new Error('unavailable: cannot check the token now') as Error & { data?: unknown };
				err.data = { code: ErrorCode.Internal, message: 'cannot check the token now; retry' };
				next(err);
			},
		);
	});

	revocations.on('revoked', ({ room, identity, revokedAt }) => {
		log.info({ roomId: room, peerId: identity, revokedAt }, 'identity revoked: ending its sessions');
		const target = channels.identity(room, identity);
		// Every node hears the revocation (Redis pub/sub) and ends its own sockets.
		io.local.to(target).emit('session:ended', { reason: 'removed' });
		io.local.in(target).disconnectSockets(true);
	});

	return (socket) => {
		let timer: NodeJS.Timeout | undefined;
		const arm = (): void => {
			const left = msUntilExpiry(socket.data.claims);
			if (left <= 0) return end(socket, 'token-expired');
			timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
			timer.unref();
		};
		arm();
		socket.once('disconnect', () => clearTimeout(timer));
	};
}

/** Whether the socket's token has expired (checked on every request too, as a second line). */
export function tokenExpired(socket: ParleySocket): boolean {
	const claims = socket.data.claims as { exp: number } | undefined;
	return claims !== undefined && msUntilExpiry(claims) <= 0;
}

export function end(socket: ParleySocket, reason: SessionEndReason): void {
	if (socket.disconnected) return;
	socket.emit('session:ended', { reason });
	socket.disconnect(true);
}
