/**
 * Time-limited TURN credentials for coturn's REST API mode (`use-auth-secret` with a
 * `static-auth-secret`): the username is `<expiry unix time>:<identity>` and the password
 * is base64(HMAC-SHA1(secret, username)). coturn recomputes the password from the secret
 * it shares with Parley and refuses the username once its time has passed, so a leaked
 * credential is only good until it expires, and Parley stores nothing.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/index.ts';

export interface TurnConfig {
	urls: readonly string[];
	secret?: string | undefined;
	credentialTtlSeconds: number;
}

/** The password coturn expects for a REST-API username. */
export function turnPassword(secret: string, username: string): string {
	return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * The ICE servers (TURN, with a fresh credential for `identity`) a client should use;
 * none when TURN is not configured.
 */
export function turnIceServers(config: TurnConfig, identity: string, nowMs = Date.now()): IceServer[] {
	if (config.urls.length === 0 || !config.secret) return [];
	const expiry = Math.floor(nowMs / 1000) + config.credentialTtlSeconds;
	// coturn splits the username at the first ':' (its rest-api-separator): no ':' in identities.
	const username = `${expiry}:${identity.replaceAll(':', '_')}`;
	return [{ urls: [...config.urls], username, credential: turnPassword(config.secret, username) }];
}
