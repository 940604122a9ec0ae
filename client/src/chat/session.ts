/**
 * What the chat needs from a call session: the RoomClient's own Socket.IO socket (chat,
 * receipts and presence travel on the same connection as the media signaling), the join
 * token (for file uploads and download links) and this participant's identity.
 *
 * RoomClient keeps its socket and options private (TypeScript-only privacy); until it
 * exposes them, they are read here, in this one place, with a check of their shape.
 */
import type { RoomClient } from '../media/RoomClient.ts';
import type { ChatSocket } from './ChatClient.ts';

export interface ChatSession {
	socket: ChatSocket;
	token: string;
	/** The token's `sub`: this participant's identity in messages, receipts and presence. */
	identity: string;
	room: string;
}

interface RoomClientInternals {
	socket?: unknown;
	options?: { token?: unknown };
	/** Public accessors, if RoomClient grows them. */
	signalingSocket?: unknown;
	token?: unknown;
}

function isSocket(value: unknown): value is ChatSocket {
	return (
		typeof value === 'object' &&
		value !== null &&
		typeof (value as { emit?: unknown }).emit === 'function' &&
		typeof (value as { on?: unknown }).on === 'function' &&
		typeof (value as { timeout?: unknown }).timeout === 'function'
	);
}

export function chatSessionOf(client: RoomClient): ChatSession {
	const internals = client as unknown as RoomClientInternals;
	const socket = internals.signalingSocket ?? internals.socket;
	const token = internals.token ?? internals.options?.token;
	if (!isSocket(socket) || typeof token !== 'string') throw new Error('chat: cannot reach the session socket and token');
	const identity = tokenSubject(token);
	if (!identity) throw new Error('chat: the join token has no subject');
	return { socket, token, identity, room: client.room };
}

/** The `sub` claim of a JWT, read without verification (the server verified it). */
export function tokenSubject(token: string): string | null {
	try {
		const part = token.split('.')[1];
		if (!part) return null;
		const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
		const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
		const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
		return typeof claims.sub === 'string' && claims.sub ? claims.sub : null;
	} catch {
		return null;
	}
}
