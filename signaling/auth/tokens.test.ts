import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { AuthError, AuthFailure, mintToken, verifyToken } from './tokens.ts';

const auth = {
	jwtSecrets: ['secret-A-0123456789abcdef0123456789abcdef'],
	audience: 'parley',
	issuer: 'parley',
	tokenTtlSeconds: 3600,
};
const claims = { sub: 'alice', room: 'standup', name: 'Alice' };
const opts = { audience: 'parley', issuer: 'parley' };

function reason(fn: () => unknown): string {
	try {
		fn();
	} catch (error) {
		assert.ok(error instanceof AuthError, `expected AuthError, got ${String(error)}`);
		return error.reason;
	}
	assert.fail('expected the token to be refused');
}

describe('join tokens', () => {
	it('round-trips a minted token with default grants', () => {
		const { token, identity } = mintToken(auth, { room: 'standup', name: 'Alice', identity: 'alice' });
		const verified = verifyToken(auth, token);
		assert.equal(verified.sub, identity);
		assert.equal(verified.room, 'standup');
		assert.deepEqual(verified.grants, { publish: true, subscribe: true, chat: true, skipWaitingRoom: false, recordable: true });
		assert.equal(verified.role, 'participant');
		const host = verifyToken(auth, mintToken(auth, { room: 'standup', name: 'Hana', role: 'host' }).token);
		assert.equal(host.role, 'host');
	});

	it('refuses expired tokens', () => {
		const token = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, auth.jwtSecrets[0]!, opts);
		assert.equal(reason(() => verifyToken(auth, token)), AuthFailure.Expired);
	});

	it('refuses a token signed with another secret', () => {
		const token = jwt.sign(claims, 'another-secret-0123456789abcdef0123456789', { ...opts, expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, token)), AuthFailure.BadSignature);
	});

	it('refuses alg:none and other algorithms', () => {
		const none = jwt.sign(claims, '', { ...opts, algorithm: 'none', expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, none)), AuthFailure.Malformed);
		const hs512 = jwt.sign(claims, auth.jwtSecrets[0]!, { ...opts, algorithm: 'HS512', expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, hs512)), AuthFailure.Malformed);
	});

	it('refuses the wrong audience or issuer', () => {
		const aud = jwt.sign(claims, auth.jwtSecrets[0]!, { audience: 'other', issuer: 'parley', expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, aud)), AuthFailure.WrongAudience);
		const iss = jwt.sign(claims, auth.jwtSecrets[0]!, { audience: 'parley', issuer: 'evil', expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, iss)), AuthFailure.WrongIssuer);
	});

	it('requires exp and valid claims', () => {
		const noExp = jwt.sign(claims, auth.jwtSecrets[0]!, opts);
		assert.equal(reason(() => verifyToken(auth, noExp)), AuthFailure.BadClaims);
		const badRoom = jwt.sign({ ...claims, room: '../etc' }, auth.jwtSecrets[0]!, { ...opts, expiresIn: 60 });
		assert.equal(reason(() => verifyToken(auth, badRoom)), AuthFailure.BadClaims);
		assert.equal(reason(() => verifyToken(auth, undefined)), AuthFailure.Missing);
		assert.equal(reason(() => verifyToken(auth, 'x'.repeat(5000))), AuthFailure.Malformed);
	});

	it('verifies with an older secret during rotation, signs with the first', () => {
		const old = mintToken(auth, { room: 'r', name: 'N' }).token;
		const rotated = { ...auth, jwtSecrets: ['secret-B-0123456789abcdef0123456789abcdef', auth.jwtSecrets[0]!] };
		assert.equal(verifyToken(rotated, old).room, 'r');
		const fresh = mintToken(rotated, { room: 'r', name: 'N' }).token;
		assert.equal(reason(() => verifyToken(auth, fresh)), AuthFailure.BadSignature);
	});
});
