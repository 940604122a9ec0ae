/**
 * Presence: a participant is online while any of its sockets is connected (Socket.IO's
 * heartbeat detects dead ones), reconnecting after the last one drops, left after the
 * grace period. Every socket gets a snapshot on connect and updates after.
 */
import type { HandlerContext } from './context.ts';

export function registerPresenceHandlers({ socket, session, presence }: HandlerContext): void {
	const { room, sub, name } = session.claims;
	presence.connect(room, sub, name);
	socket.emit('presence:snapshot', { participants: presence.snapshot(room) });
	socket.onAny(() => presence.touch(room, sub));
	// The client closing its socket on purpose (Leave) is a goodbye, not a dropped connection.
	socket.on('disconnect', (reason) => presence.disconnect(room, sub, reason === 'client namespace disconnect'));
}
