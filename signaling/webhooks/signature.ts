/**
 * Webhook signatures: `Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `<t>.<body>`, keyed with the webhook secret. Receivers recompute it, compare in constant
 * time and refuse timestamps outside a window (a replayed old delivery).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'parley-signature';
export const WEBHOOK_ID_HEADER = 'parley-event-id';
/** Default replay window a receiver should allow (seconds). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, body: string, now = Date.now()): string {
	const t = Math.floor(now / 1000);
	const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
	return `t=${t},v1=${v1}`;
}

/** For receivers (and the tests): true when the header signs this body within the window. */
export function verifyWebhook(
	secret: string,
	header: string | undefined | null,
	body: string,
	toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
	now = Date.now(),
): boolean {
	const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
	if (!match) return false;
	const t = Number(match[1]);
	if (Math.abs(now / 1000 - t) > toleranceSeconds) return false;
	const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
	return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
