/**
 * The integrator API's request signature (not the join token): each request carries the
 * API key, a Unix timestamp and an HMAC-SHA256, keyed with the key's secret, over
 * `timestamp + "\n" + METHOD + "\n" + path (with query) + "\n" + body`. The server refuses
 * unknown keys, bad signatures and timestamps outside a window (replays of old requests).
 *
 *   X-Parley-Key: <key>
 *   X-Parley-Timestamp: <unix seconds>
 *   X-Parley-Signature: <hex HMAC-SHA256>
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const ApiHeaders = {
	key: 'x-parley-key',
	timestamp: 'x-parley-timestamp',
	signature: 'x-parley-signature',
} as const;

/** How far a request's timestamp may be from the server's clock (seconds). */
export const API_SIGNATURE_WINDOW_SECONDS = 300;

export function signApiRequest(secret: string, timestamp: number, method: string, pathWithQuery: string, body: string): string {
	return createHmac('sha256', secret).update(`${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}\n${body}`).digest('hex');
}

/** Headers for a signed request (for scripts and tests). */
export function apiRequestHeaders(
	key: string,
	secret: string,
	method: string,
	pathWithQuery: string,
	body: string,
	now = Date.now(),
): Record<string, string> {
	const timestamp = Math.floor(now / 1000);
	return {
		[ApiHeaders.key]: key,
		[ApiHeaders.timestamp]: String(timestamp),
		[ApiHeaders.signature]: signApiRequest(secret, timestamp, method, pathWithQuery, body),
	};
}

export type SignatureCheck = { ok: true; key: string } | { ok: false; message: string };

export function checkApiSignature(
	keys: ReadonlyMap<string, string>,
	headers: { key?: string; timestamp?: string; signature?: string },
	method: string,
	pathWithQuery: string,
	body: string,
	now = Date.now(),
): SignatureCheck {
	const { key, timestamp, signature } = headers;
	if (!key || !timestamp || !signature) return { ok: false, message: 'sign the request: X-Parley-Key, X-Parley-Timestamp, X-Parley-Signature' };
	const secret = keys.get(key);
	if (!secret) return { ok: false, message: 'unknown API key' };
	const ts = Number(timestamp);
	if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - ts) > API_SIGNATURE_WINDOW_SECONDS) {
		return { ok: false, message: `timestamp outside the ${API_SIGNATURE_WINDOW_SECONDS} s window (check the clock)` };
	}
	const expected = Buffer.from(signApiRequest(secret, ts, method, pathWithQuery, body), 'hex');
	const given = /^[0-9a-f]{64}$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, message: 'bad signature' };
	return { ok: true, key };
}
