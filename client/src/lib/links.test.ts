import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLinkProblem, quickCheck } from './links.ts';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

test('quickCheck: broken shapes, expired and fine links', () => {
	assert.deepEqual(quickCheck('not-a-token'), { problem: 'malformed' });
	assert.deepEqual(quickCheck('a.b'), { problem: 'malformed' });
	assert.deepEqual(quickCheck(`x.${b64({ exp: 100 })}`), { problem: 'malformed' });
	assert.deepEqual(quickCheck(`x.${b64({ exp: 100 })}.sig`, 200), { problem: 'expired', expiredAt: 100 });
	assert.equal(quickCheck(`x.${b64({ exp: 300 })}.sig`, 200), null);
	assert.deepEqual(quickCheck(`x.${b64({ exp: 300 }).slice(0, 5)}.sig`), { problem: 'malformed' });
});

test('plain words, no jargon', () => {
	for (const p of ['expired', 'revoked', 'malformed', 'bad_signature', 'lifetime_too_long'] as const) {
		const text = describeLinkProblem('token', p);
		if (p !== 'revoked') assert.match(text, /^This meeting link /);
		assert.doesNotMatch(text, /jwt|token|signature|malformed/i);
	}
	assert.match(describeLinkProblem('token', 'revoked'), /removed you/);
	assert.match(describeLinkProblem('invite', 'revoked'), /withdrawn/);
});
