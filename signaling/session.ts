/**
 * Per-connection state. A Session exists from the authenticated handshake until the
 * socket disconnects; `peer` is set while the participant is in the room.
 */
import type { Server, Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { ClientToServerEvents, ServerToClientEvents, SessionEndReason } from './protocol/index.ts';
import type { TokenClaims } from './auth/tokens.ts';
import type { Peer, Room } from '../sfu/index.ts';

export interface SocketData {
	claims: TokenClaims;
}

/** Between the nodes of a cluster (Socket.IO serverSideEmit through the Redis adapter). */
export interface InterServerEvents {
	/** An identity joined a room's media on another node: its session here (if any) is replaced. */
	'identity:joined': (room: string, identity: string) => void;
}

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface Session {
	readonly socket: ParleySocket;
	readonly claims: TokenClaims;
	readonly log: Logger;
	room: Room | undefined;
	peer: Peer | undefined;
}

/** Socket.IO room names: everyone in a meeting, and one peer's own sockets. */
export const channels = {
	room: (roomId: string): string => `room:${roomId}`,
	peer: (roomId: string, peerId: string): string => `peer:${roomId}:${peerId}`,
	/** Everyone connected to a room's messaging (joined or not to the media). */
	chat: (roomId: string): string => `chat:${roomId}`,
	/** Every socket of one identity in a room (direct messages, receipts). */
	identity: (roomId: string, identity: string): string => `id:${roomId}:${identity}`,
	/** Hosts and co-hosts of a room (the waiting list). */
	hosts: (roomId: string): string => `hosts:${roomId}`,
	/** Everyone in a room's waiting room, and one waiting identity's sockets. */
	waiting: (roomId: string): string => `waiting:${roomId}`,
	waitingIdentity: (roomId: string, identity: string): string => `waiting:${roomId}:${identity}`,
};

/** Every channel of a room's sockets: its messaging, its media and its waiting room. */
export function roomChannels(roomId: string): string[] {
	return [channels.chat(roomId), channels.room(roomId), channels.waiting(roomId)];
}

/**
 * Tell the connections in these channels, on every node, that their session ended, then close
 * them. This node's are told and closed first: through the cluster adapter a broadcast reaches
 * this node's own sockets only once Redis has taken it, after a disconnect would already have
 * closed them untold. Other nodes get the message, then the disconnect, in the stream's order.
 */
export function endSessions(io: ParleyServer, target: string | string[], reason: SessionEndReason): void {
	io.local.to(target).emit('session:ended', { reason });
	io.local.in(target).disconnectSockets(true);
	io.to(target).emit('session:ended', { reason });
	io.in(target).disconnectSockets(true);
}

/** The sessions in rooms, by room and identity, to replace a duplicate identity's older session. */
export class SessionRegistry {
	readonly #byKey = new Map<string, Session>();

	get(roomId: string, identity: string): Session | undefined {
		return this.#byKey.get(`${roomId}\u0000${identity}`);
	}

	set(session: Session): void {
		this.#byKey.set(`${session.claims.room}\u0000${session.claims.sub}`, session);
	}

	delete(session: Session): void {
		const key = `${session.claims.room}\u0000${session.claims.sub}`;
		if (this.#byKey.get(key) === session) this.#byKey.delete(key);
	}

	get size(): number {
		return this.#byKey.size;
	}
}
