import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configKeys, envName, loadConfig } from './index.ts';

const SECRET = 'x'.repeat(40);

describe('config', () => {
	it('maps every key to a PARLEY_ environment variable', () => {
		assert.equal(envName(['media', 'announcedAddress']), 'PARLEY_MEDIA_ANNOUNCED_ADDRESS');
		const names = configKeys().map(envName);
		assert.ok(names.includes('PARLEY_HTTP_PORT'));
		assert.ok(names.includes('PARLEY_AUTH_JWT_SECRETS'));
		assert.equal(new Set(names).size, names.length, 'names are unique');
	});

	it('has working defaults in dev mode and generates a secret', () => {
		const config = loadConfig({ env: { PARLEY_DEV: 'true' } });
		assert.equal(config.http.port, 3000);
		assert.equal(config.media.workers, os.availableParallelism());
		assert.equal(config.auth.jwtSecrets.length, 1);
		assert.ok(config.auth.jwtSecrets[0]!.length >= 32);
		assert.equal(config.http.publicUrl, 'http://localhost:3000');
		assert.ok(config.media.announcedAddress);
	});

	it('refuses to start outside dev mode without a secret', () => {
		assert.throws(() => loadConfig({ env: {} }), (e: Error) => e instanceof ConfigError && /PARLEY_AUTH_JWT_SECRETS/.test(e.message));
	});

	it('names the bad key and its variable', () => {
		assert.throws(
			() => loadConfig({ env: { PARLEY_DEV: '1', PARLEY_HTTP_PORT: 'eighty' } }),
			(e: Error) => e instanceof ConfigError && e.message.includes('http.port (PARLEY_HTTP_PORT)'),
		);
		assert.throws(
			() => loadConfig({ env: { PARLEY_AUTH_JWT_SECRETS: 'short' } }),
			(e: Error) => /auth\.jwtSecrets.*32 characters/s.test(e.message),
		);
		assert.throws(
			() => loadConfig({ env: { PARLEY_DEV: '1', PARLEY_HTTP_PROT: '80' } }),
			(e: Error) => /unknown environment variable.*PARLEY_HTTP_PROT/.test(e.message),
		);
	});

	it('reads a config file and lets the environment override it', () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-config-'));
		const file = path.join(dir, 'parley.json');
		writeFileSync(file, JSON.stringify({ http: { port: 4000, host: '127.0.0.1' }, auth: { jwtSecrets: [SECRET, 'y'.repeat(32)] } }));
		const config = loadConfig({ env: { PARLEY_CONFIG: file, PARLEY_HTTP_PORT: '4001' } });
		assert.equal(config.http.port, 4001);
		assert.equal(config.http.host, '127.0.0.1');
		assert.deepEqual(config.auth.jwtSecrets, [SECRET, 'y'.repeat(32)]);
		writeFileSync(file, JSON.stringify({ http: { nope: 1 } }));
		assert.throws(() => loadConfig({ env: { PARLEY_CONFIG: file, PARLEY_DEV: '1' } }), /http/);
		rmSync(dir, { recursive: true, force: true });
	});

	it('splits comma-separated secrets for rotation and announces the listen address when it is specific', () => {
		const config = loadConfig({
			env: { PARLEY_AUTH_JWT_SECRETS: `${SECRET}, ${'z'.repeat(33)}`, PARLEY_MEDIA_LISTEN_IP: '127.0.0.1' },
		});
		assert.deepEqual(config.auth.jwtSecrets, [SECRET, 'z'.repeat(33)]);
		assert.equal(config.media.announcedAddress, '127.0.0.1');
	});

	it('takes TURN URLs as a list and wants the shared secret with them', () => {
		const config = loadConfig({
			env: { PARLEY_DEV: '1', PARLEY_TURN_URLS: 'turn:t.example:3478, turns:t.example:5349?transport=tcp', PARLEY_TURN_SECRET: 'k'.repeat(16) },
		});
		assert.deepEqual(config.turn.urls, ['turn:t.example:3478', 'turns:t.example:5349?transport=tcp']);
		assert.equal(config.turn.credentialTtlSeconds, 43_200);
		assert.throws(() => loadConfig({ env: { PARLEY_DEV: '1', PARLEY_TURN_URLS: 'turn:t.example:3478' } }), /turn\.secret/);
		assert.throws(() => loadConfig({ env: { PARLEY_DEV: '1', PARLEY_TURN_URLS: 'stun:t.example', PARLEY_TURN_SECRET: 'k'.repeat(16) } }), /turn\.urls/);
	});

	it('is documented: README.md names every variable', () => {
		const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
		const missing = configKeys().map(envName).filter((name) => !readme.includes(`\`${name}\``));
		assert.deepEqual(missing, []);
	});
});
