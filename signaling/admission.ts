/**
 * Admission at the socket handshake, after the token check (and, in a cluster, placement):
 * a locked meeting turns newcomers away, and each participant has a cap on open
 * connections (counted until the socket disconnects or its transport closes).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { SessionCounter } from './limits/connections.ts';
import type { MeetingRegistry } from './meeting/MeetingRegistry.ts';
import { ErrorCode } from './protocol/index.ts';
import type { ParleyServer } from './session.ts';

export interface AdmissionOptions {
	config: Config;
	meetings: MeetingRegistry;
	log: Logger;
}

/** Add the meeting-lock check, then the per-participant connection cap, to the handshake (io.use). */
export function admitConnections(io: ParleyServer, { config, meetings, log }: AdmissionOptions): void {
	// After the token check: a locked meeting takes hosts and people already in only.
	io.use((socket, next) => {
		const claims = socket.data.claims;
		if (meetings.get(claims.room)?.mayEnter(claims.sub, claims.role) !== false) return next();
		log.info({ roomId: claims.room, peerId: claims.sub }, 'handshake refused: meeting locked');
		const err = new Error(`${ErrorCode.RoomLocked}: the meeting is locked`) as Error & { data?: unknown };
		err.data = { code: ErrorCode.RoomLocked, message: 'the meeting is locked; nobody new can join' };
		next(err);
	});
	const socketsPerIdentity = new SessionCounter(config.limits.socketsPerIdentity);
	io.use((socket, next) => {
		const key = `${socket.data.claims.room}\u0000${socket.data.claims.sub}`;
		if (!socketsPerIdentity.acquire(key)) {
			log.info({ roomId: socket.data.claims.room, peerId: socket.data.claims.sub }, 'connection refused: too many sockets');
			const err = new Error('limit_exceeded: too many connections for this participant') as Error & { data?: unknown };
			err.data = { code: ErrorCode.LimitExceeded, message: `at most ${config.limits.socketsPerIdentity} connections per participant` };
			return next(err);
		}
		let released = false;
		const release = (): void => {
			if (!released) socketsPerIdentity.release(key);
			released = true;
		};
		socket.once('disconnect', release);
		socket.conn.once('close', release);
		next();
	});
}
