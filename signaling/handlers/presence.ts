/**
 * Presence: a participant is online while any of its sockets is connected (Socket.IO's
 * heartbeat detects dead ones), reconnecting after the last one drops, left after the
 * grace period. Every socket gets a snapshot on connect and updates after. Presence is
 * persisted in the store (PresenceTracker), so it survives a restart of the server.
 */
import type { HandlerContext } from './context.ts';

export function registerPresenceHandlers({ socket, session, presence }: HandlerContext): void {
	const { room, sub, name } = session.claims;
	let counted = false;
	// The room's persisted presence is loaded first (after a restart: who left, who was here).
	const ready = presence.hydrate(room).then(async () => {
		if (!socket.connected) return;
		presence.connect(room, sub, name);
		counted = true;
		socket.emit('presence:snapshot', { participants: await presence.clusterSnapshot(room) });
	});
	socket.onAny(() => presence.touch(room, sub));
	// The client closing its socket on purpose (Leave) is a goodbye, not a dropped connection.
	socket.on('disconnect', (reason) => {
		void ready.then(() => {
			if (counted) presence.disconnect(room, sub, reason === 'client namespace disconnect');
		});
	});
}
