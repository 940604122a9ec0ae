/** `npm run token` (the README's way to mint a host token): the real CLI, its token verified. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { verifyToken } from '../auth/tokens.ts';

const CLI = fileURLToPath(new URL('./token.ts', import.meta.url));
const SECRET = 'cli-test-secret-0123456789abcdef0123456789';
const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600 };

async function mint(...args: string[]): Promise<ReturnType<typeof verifyToken>> {
	const env = { ...process.env, PARLEY_DEV: 'false', PARLEY_AUTH_JWT_SECRETS: SECRET };
	const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--room', 'standup', '--name', 'Hana', ...args], { env });
	return verifyToken(auth, stdout.trim());
}

it('npm run token -- --host mints a host token; without it a participant', async () => {
	const [host, plain] = await Promise.all([mint('--host', '--identity', 'hana'), mint('--skip-waiting-room')]);
	assert.equal(host.role, 'host');
	assert.equal(host.sub, 'hana');
	assert.equal(host.room, 'standup');
	assert.equal(plain.role, 'participant');
	assert.equal(plain.grants.skipWaitingRoom, true);
});
