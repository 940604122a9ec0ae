/**
 * The setup scripts' failure modes, run for real in bash against throw-away folders:
 * a cache entry that does not run is removed (not restored forever), and a wrap file
 * without a usable `directory =` line stops build.sh before it deletes anything.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const buildSh = path.join(root, 'scripts/mediasoup-worker/build.sh');
const ensureSh = path.join(root, 'scripts/mediasoup-worker/ensure.sh');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'parley-setup-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function script(file: string, body: string): string {
	writeFileSync(file, `#!/bin/sh\n${body}\n`);
	chmodSync(file, 0o755);
	return file;
}

test('ensure.sh removes a cached worker that does not run instead of restoring it forever', () => {
	const pkg = path.join(tmp, 'pkg');
	mkdirSync(pkg, { recursive: true });
	writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ version: '3.27.1' }));
	const hash = execFileSync('sha256sum', [buildSh]).toString().slice(0, 12);
	const cacheDir = path.join(tmp, 'cache', 'mediasoup-worker');
	mkdirSync(cacheDir, { recursive: true });
	// A truncated binary: executable, but it does not run as a worker (mediasoup's check wants exit status 41).
	const entry = script(path.join(cacheDir, `mediasoup-worker-3.27.1-${hash}`), 'exit 3');
	const good = script(path.join(tmp, 'good-worker'), 'exit 41');
	const run = spawnSync('bash', [ensureSh, pkg], {
		env: { ...process.env, PARLEY_CACHE: path.join(tmp, 'cache'), MEDIASOUP_WORKER_BIN: good, MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD: '1' },
		encoding: 'utf8',
	});
	assert.equal(run.status, 0, run.stderr);
	assert.match(run.stderr, /removing the cache entry/);
	assert.equal(existsSync(entry), false, 'the bad cache entry is gone');
	assert.equal(existsSync(path.join(pkg, 'worker/out/Release/mediasoup-worker')), false, 'the bad binary is gone');
});

test("build.sh's wrapdir refuses a wrap file without a directory, before anything is deleted", () => {
	const sp = path.join(tmp, 'subprojects');
	mkdirSync(path.join(sp, 'keep'), { recursive: true });
	writeFileSync(path.join(sp, 'good.wrap'), '[wrap-file]\ndirectory = libuv-v1.48.0\nsource_url = x\n');
	writeFileSync(path.join(sp, 'bad.wrap'), '[wrap-file]\nsource_url = x\n');
	const wrapdir = /^wrapdir\(\) \{[\s\S]*?^\}/m.exec(readFileSync(buildSh, 'utf8'))?.[0];
	assert.ok(wrapdir, 'wrapdir() is in build.sh');
	const run = (name: string) =>
		spawnSync('bash', ['-c', `set -euo pipefail; log() { echo "$*" >&2; }; SP="$1"; ${wrapdir}\nd="$SP/$(wrapdir ${name})"; echo "$d"; rm -rf "$d"`, 'x', sp], {
			encoding: 'utf8',
		});
	const good = run('good');
	assert.equal(good.status, 0, good.stderr);
	assert.equal(good.stdout.trim(), path.join(sp, 'libuv-v1.48.0'));
	const bad = run('bad');
	assert.notEqual(bad.status, 0);
	assert.match(bad.stderr, /no usable 'directory =' line/);
	assert.ok(existsSync(path.join(sp, 'keep')), 'the subprojects folder is still there');
});
