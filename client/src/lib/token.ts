/** Reading a join token's claims in the client (no DOM: the signaling session uses it too). */

export interface TokenClaims {
	/** The identity. */
	sub?: string;
	room?: string;
	name?: string;
	exp?: number;
	role?: string;
}

/** The readable part of a JWT (no verification: the server verifies; for showing the room and name, and knowing one's identity). */
export function peekToken(token: string): TokenClaims {
	try {
		const part = token.split('.')[1];
		if (!part) return {};
		const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
		const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
		const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
		return {
			...(typeof claims.sub === 'string' && claims.sub ? { sub: claims.sub } : {}),
			...(typeof claims.room === 'string' ? { room: claims.room } : {}),
			...(typeof claims.name === 'string' ? { name: claims.name } : {}),
			...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
			...(typeof claims.role === 'string' ? { role: claims.role } : {}),
		};
	} catch {
		return {};
	}
}
