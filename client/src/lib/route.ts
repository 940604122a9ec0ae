/** What the address bar says: /r/<room> and ?token=. */
import { peekToken, type TokenClaims } from './token.ts';
import { ROOM_NAME_PATTERN } from '../../../signaling/protocol/limits.ts';

export { ROOM_NAME_PATTERN };

export function roomFromPath(pathname: string = window.location.pathname): string | null {
	const match = /^\/r\/([^/]+)\/?$/.exec(pathname);
	if (!match?.[1]) return null;
	try {
		return decodeURIComponent(match[1]);
	} catch {
		return null;
	}
}

const TOKEN_KEY = 'parley:token';

/**
 * The invitation token. Read once from `?token=`, then taken out of the address bar (it
 * must not linger in history, screenshots or shared links) and kept in sessionStorage
 * for this tab, so that a reload still works; the call keeps it in memory for reconnects.
 */
export function tokenFromUrl(): string | null {
	const url = new URL(window.location.href);
	const fromUrl = url.searchParams.get('token');
	if (fromUrl) {
		try {
			window.sessionStorage.setItem(TOKEN_KEY, fromUrl);
		} catch {
			// storage blocked: the token lives in memory only
		}
		url.searchParams.delete('token');
		window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
		return fromUrl;
	}
	let stored: string | null = null;
	try {
		stored = window.sessionStorage.getItem(TOKEN_KEY);
	} catch {
		return null;
	}
	if (!stored) return null;
	// Only for the room it admits to, and only while it is valid.
	const claims = peekToken(stored);
	const room = roomFromPath();
	if ((room && claims.room !== room) || (claims.exp !== undefined && claims.exp * 1000 < Date.now())) return null;
	return stored;
}

const INVITE_KEY = 'parley:invite';

/**
 * An invitation (`?invite=`), exchanged in the lobby for one's own join token. Like the
 * token, taken out of the address bar once read and kept in sessionStorage for reloads.
 */
export function inviteFromUrl(): string | null {
	const url = new URL(window.location.href);
	const fromUrl = url.searchParams.get('invite');
	if (fromUrl) {
		try {
			window.sessionStorage.setItem(INVITE_KEY, fromUrl);
		} catch {
			// storage blocked: memory only
		}
		url.searchParams.delete('invite');
		window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
		return fromUrl;
	}
	try {
		const stored = window.sessionStorage.getItem(INVITE_KEY);
		const claims = stored ? peekToken(stored) : {};
		const room = roomFromPath();
		if (!stored || (room && claims.room !== room)) return null;
		return stored;
	} catch {
		return null;
	}
}

export function validateRoomName(room: string): string | null {
	if (!room) return 'Enter a room name.';
	return ROOM_NAME_PATTERN.test(room) ? null : 'Room names are 1-64 letters, digits, "-" or "_" (starting with a letter or digit).';
}

/** The path for a room (the token stays out of it: sessionStorage keeps it for reloads). */
export function roomPath(room: string): string {
	return `/r/${encodeURIComponent(room)}`;
}

export function roomLink(publicUrl: string, room: string): string {
	return `${publicUrl.replace(/\/+$/, '')}/r/${encodeURIComponent(room)}`;
}

const ADJECTIVES = ['bright', 'calm', 'swift', 'quiet', 'bold', 'sunny', 'lucky', 'brave', 'clever', 'gentle', 'happy', 'mellow'];
const NOUNS = ['otter', 'falcon', 'maple', 'harbor', 'comet', 'meadow', 'river', 'lynx', 'cedar', 'pebble', 'orbit', 'willow'];

export function randomRoomName(): string {
	const pick = <T,>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
	return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(100 + Math.random() * 900)}`;
}

export { peekToken, type TokenClaims };
