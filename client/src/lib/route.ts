/** What the address bar says: /r/<room> and ?token=. */
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

export function tokenFromUrl(search: string = window.location.search): string | null {
	return new URLSearchParams(search).get('token');
}

export function validateRoomName(room: string): string | null {
	if (!room) return 'Enter a room name.';
	return ROOM_NAME_PATTERN.test(room) ? null : 'Room names are 1-64 letters, digits, "-" or "_" (starting with a letter or digit).';
}

/** The path for a room, keeping ?token= so that a reload still works. */
export function roomPath(room: string): string {
	const token = tokenFromUrl();
	return `/r/${encodeURIComponent(room)}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
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

export interface TokenClaims {
	room?: string;
	name?: string;
	exp?: number;
}

/** The readable part of a JWT (no verification: only for showing the room and name). */
export function peekToken(token: string): TokenClaims {
	try {
		const part = token.split('.')[1];
		if (!part) return {};
		const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
		const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
		const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
		return {
			...(typeof claims.room === 'string' ? { room: claims.room } : {}),
			...(typeof claims.name === 'string' ? { name: claims.name } : {}),
			...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
		};
	} catch {
		return {};
	}
}
