import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { turnIceServers, turnPassword } from './credentials.ts';

const config = { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'], secret: 's'.repeat(32), credentialTtlSeconds: 600 };

describe('TURN REST-API credentials', () => {
	it('mints <expiry>:<identity> with base64 HMAC-SHA1 of the shared secret', () => {
		const [server] = turnIceServers(config, 'alice', 1_700_000_000_000);
		assert.ok(server);
		assert.deepEqual(server.urls, config.urls);
		assert.equal(server.username, '1700000600:alice');
		// The RFC-less but de-facto scheme coturn implements (draft-uberti-behave-turn-rest).
		assert.equal(server.credential, createHmac('sha1', config.secret).update('1700000600:alice').digest('base64'));
		assert.equal(turnPassword(config.secret, server.username), server.credential);
	});

	it('keeps the identity out of the timestamp field and gives nothing without TURN', () => {
		assert.equal(turnIceServers(config, 'a:b', 0)[0]!.username, '600:a_b');
		assert.deepEqual(turnIceServers({ ...config, urls: [] }, 'alice'), []);
		assert.deepEqual(turnIceServers({ urls: config.urls, credentialTtlSeconds: 600 }, 'alice'), []);
	});
});
