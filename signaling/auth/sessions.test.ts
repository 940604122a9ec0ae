/**
 * Integration (real worker, real Socket.IO): a session does not outlive its token, tokens
 * have a maximum lifetime, and a revoked identity is cut off and stays out (across a
 * restart, and on Redis).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { connectError, joinRoom, next, request, startTestServer, type TestServer } from '../../test/harness.ts';
import { redisForTests } from '../../test/redis.ts';
import { RedisRevocations } from './Revocations.ts';

function sign(t: TestServer, claims: Record<string, unknown>): string {
	const { audience, issuer, jwtSecrets } = t.config.auth;
	return jwt.sign({ name: 'X', ...claims }, jwtSecrets[0]!, { audience, issuer, algorithm: 'HS256' });
}
const nowS = (): number => Math.floor(Date.now() / 1000);

describe('token lifetime', () => {
	let t: TestServer;
	after(async () => t?.close());

	it('ends a live session when its token expires, and refuses requests after', async () => {
		t = await startTestServer();
		// Accepted within the 5 s clock tolerance, expires for good about 2 s later.
		const token = sign(t, { sub: 'exp1', room: 'expiry', iat: nowS() - 60, exp: nowS() - 3 });
		const socket = await t.client(token);
		await joinRoom(socket);
		const ended = await next(socket, 'session:ended', () => true, 5000);
		assert.equal(ended.reason, 'token-expired');
		await new Promise((r) => setTimeout(r, 50));
		assert.equal(socket.connected, false, 'the server disconnected the socket');
	});

	it('refuses tokens that live longer than the maximum lifetime', async () => {
		const far = sign(t, { sub: 'exp2', room: 'expiry', exp: Date.UTC(2999, 0) / 1000 });
		const error = await connectError(t.url, { token: far });
		assert.equal(error.data?.code, 'unauthorized');
		assert.match(error.message, /lifetime/);
		const day = sign(t, { sub: 'exp2', room: 'expiry', iat: nowS(), exp: nowS() + 86400 });
		const socket = await t.client(day);
		assert.equal(socket.connected, true, 'a token within the maximum (24 h) is accepted');
		socket.disconnect();
	});
});

describe('revocation', () => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-revoke-'));
	after(() => rmSync(dataDir, { recursive: true, force: true }));

	it('ends the revoked identity’s sessions, refuses its older tokens, keeps others, and survives a restart', async () => {
		let t = await startTestServer({ dataDir });
		try {
			const oldToken = t.token({ room: 'rv', identity: 'mallory' });
			const m1 = await t.client(oldToken);
			const m2 = await t.client(oldToken); // a second tab
			const alice = await t.client(t.token({ room: 'rv', identity: 'alice' }));
			const elsewhere = await t.client(t.token({ room: 'rv-other', identity: 'mallory' }));
			await joinRoom(m1);
			await joinRoom(alice);
			const left = next(alice, 'peer:left', (p) => p.peerId === 'mallory');
			const ended = [next(m1, 'session:ended'), next(m2, 'session:ended')];
			const revocation = await t.server.revocations.revoke('rv', 'mallory');
			for (const e of await Promise.all(ended)) assert.equal(e.reason, 'removed');
			await left;
			assert.equal(alice.connected, true);
			assert.equal(elsewhere.connected, true, 'the same identity in another room is not affected');
			const refused = await connectError(t.url, { token: oldToken });
			assert.equal(refused.data?.code, 'unauthorized');
			assert.match(refused.message, /removed/);
			// A token issued after the revocation admits the identity again.
			const fresh = sign(t, { sub: 'mallory', room: 'rv', iat: Math.floor(revocation.revokedAt / 1000) + 1, exp: nowS() + 600 });
			const back = await t.client(fresh);
			assert.equal((await request(back, 'chat:typing', { typing: true })).ok, true);
			// Uploads and downloads refuse the old token too.
			const res = await fetch(`${t.url}/api/rooms/rv/files/abcdefgh12`, { headers: { authorization: `Bearer ${oldToken}` } });
			assert.equal(res.status, 401);
			await t.close();
			t = await startTestServer({ dataDir });
			const afterRestart = await connectError(t.url, { token: oldToken });
			assert.equal(afterRestart.data?.code, 'unauthorized', 'the list survives a restart');
		} finally {
			await t.close();
		}
	});

	it('on Redis: shared by every process, which all end the live sessions', async () => {
		const redis = await redisForTests();
		const keyPrefix = `parley-test:${process.pid}:${Date.now()}:`;
		const a = new RedisRevocations({ url: redis.url, keyPrefix, retainMs: 60_000 });
		const b = new RedisRevocations({ url: redis.url, keyPrefix, retainMs: 60_000 });
		try {
			await Promise.all([a.ready, b.ready]); // both listen before anything is published
			const seen = new Promise((resolve) => b.once('revoked', resolve));
			const r = await a.revoke('room1', 'eve');
			assert.deepEqual(await seen, r);
			const before = Math.floor(r.revokedAt / 1000) - 1;
			assert.equal(await b.isRevoked('room1', 'eve', before), true);
			assert.equal(await b.isRevoked('room1', 'eve', before + 1), true, 'the same second is revoked too');
			assert.equal(await b.isRevoked('room1', 'eve', before + 2), false);
			assert.equal(await b.isRevoked('room2', 'eve', before), false);
		} finally {
			await a.close();
			await b.close();
			await redis.stop();
		}
	});
});
