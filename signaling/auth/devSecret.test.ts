import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from './devSecret.ts';

test('the dev secret is created once (mode 0600) and read back after a restart', () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-devsecret-'));
	try {
		const data = path.join(dir, 'data');
		const first = loadOrCreateDevSecret(data);
		assert.equal(first.created, true);
		assert.ok(first.secret.length >= 32);
		assert.equal(statSync(first.file).mode & 0o777, 0o600);
		const second = loadOrCreateDevSecret(data);
		assert.equal(second.created, false);
		assert.equal(second.secret, first.secret);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});

test('a loosened file is tightened; a too short one is replaced', () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-devsecret-'));
	try {
		const file = path.join(dir, DEV_SECRET_FILE);
		writeFileSync(file, 'a'.repeat(64));
		chmodSync(file, 0o644);
		assert.equal(loadOrCreateDevSecret(dir).secret, 'a'.repeat(64));
		assert.equal(statSync(file).mode & 0o777, 0o600);
		writeFileSync(file, 'short');
		const replaced = loadOrCreateDevSecret(dir);
		assert.equal(replaced.created, true);
		assert.notEqual(replaced.secret, 'short');
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});
