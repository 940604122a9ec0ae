/**
 * Meeting links in plain words: what is wrong with a join token or an invitation, said so
 * that a person knows what to do. A quick look at the link's shape and expiry happens in
 * the page (instant); the server's answer (signature, revocation) follows.
 */
import type { LinkProblem } from '../../../signaling/protocol/index.ts';

export type LinkKind = 'token' | 'invite';

export function describeLinkProblem(kind: LinkKind, problem: LinkProblem, expiredAt?: number): string {
	const what = kind === 'invite' ? 'This invitation link' : 'This meeting link';
	switch (problem) {
		case 'expired':
			return `${what} has expired${expiredAt ? ` (on ${new Date(expiredAt * 1000).toLocaleString()})` : ''}. Ask the organizer for a new one.`;
		case 'revoked':
			return kind === 'invite'
				? `${what} was withdrawn by the host. Ask the organizer for a new one.`
				: 'A host removed you from this meeting, so this link no longer works for you.';
		case 'malformed':
		case 'missing':
			return `${what} is broken: part of it may be missing. Copy the whole link again, or ask the organizer for a new one.`;
		case 'bad_signature':
		case 'wrong_audience':
		case 'wrong_issuer':
		case 'bad_claims':
		case 'lifetime_too_long':
			return `${what} is not valid on this server. Ask the organizer for a new one.`;
	}
}

interface Peeked {
	exp?: number;
}

/** The link's payload, if it has the shape of a JWT (three base64url parts, a JSON payload). */
function payload(jwt: string): Peeked | null {
	const parts = jwt.split('.');
	if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return null;
	try {
		const part = parts[1]!;
		const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
		const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
		if (typeof value !== 'object' || value === null) return null;
		const exp = (value as { exp?: unknown }).exp;
		return typeof exp === 'number' ? { exp } : {};
	} catch {
		return null;
	}
}

/** What can be told without asking the server: a broken link, or one whose expiry has passed. */
export function quickCheck(jwt: string, nowSeconds = Date.now() / 1000): { problem: LinkProblem; expiredAt?: number } | null {
	const peeked = payload(jwt);
	if (!peeked) return { problem: 'malformed' };
	if (peeked.exp !== undefined && peeked.exp < nowSeconds) return { problem: 'expired', expiredAt: peeked.exp };
	return null;
}
