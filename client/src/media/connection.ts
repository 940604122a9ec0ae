/**
 * A warm signaling connection for the lobby: the WebSocket (TCP, TLS, HTTP upgrade, Engine.IO
 * open) is set up while the person looks at their preview, without joining any namespace, so
 * the server sees nobody yet (no session, no presence). Join then only sends the Socket.IO
 * CONNECT packet with the token. The server drops namespace-less connections after its
 * connectTimeout; the Manager's reconnection opens a new one.
 */
import { Manager } from 'socket.io-client';

export const MANAGER_OPTIONS = {
	// Opened explicitly (prewarm) or by the first socket's connect().
	autoConnect: false,
	// WebSocket straight away (no long-polling round trips first); polling only as a fallback.
	transports: ['websocket', 'polling'],
	tryAllTransports: true,
	reconnection: true,
	reconnectionDelay: 500,
	reconnectionDelayMax: 5000,
	timeout: 10_000,
} as const;

let warm: Manager | null = null;

export function createManager(url = ''): Manager {
	// (globalThis: this module also runs in Node, in the cluster test, with an explicit url.)
	const origin = (globalThis as { location?: { origin: string } }).location?.origin ?? '';
	return new Manager(url || origin, { ...MANAGER_OPTIONS, transports: [...MANAGER_OPTIONS.transports] });
}

/** Open a connection to be taken by the next join; returns a release function for unmount. */
export function prewarmConnection(): () => void {
	if (!warm) warm = createManager().open();
	const mine = warm;
	return () => {
		if (warm === mine) {
			warm = null;
			mine._close();
		}
	};
}

/** The warm connection (if any), now owned by the caller. */
export function takeWarmConnection(): Manager | null {
	const manager = warm;
	warm = null;
	return manager;
}
