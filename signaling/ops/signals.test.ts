/**
 * The real entry point (`node signaling/main.ts`) under signals: SIGTERM drains (not ready,
 * meetings go on, then end with `server-shutdown`) and exits; a second SIGINT exits at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { io as connect } from 'socket.io-client';
import { loadConfig } from '../../config/index.ts';
import { mintToken } from '../auth/tokens.ts';
import { joinRoom, next, type TestClient } from '../../test/harness.ts';
import { freePort, randomMediaPort } from '../../test/ports.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const SECRET = 'signal-test-secret-0123456789abcdef0123';


interface Running {
	child: ChildProcess;
	url: string;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	output: () => string;
	close(): void;
}

async function startMain(graceMs: number): Promise<Running> {
	const port = await freePort();
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-signals-'));
	const child = spawn(process.execPath, [MAIN], {
		env: {
			PATH: process.env.PATH ?? '',
			PARLEY_AUTH_JWT_SECRETS: SECRET,
			PARLEY_HTTP_HOST: '127.0.0.1',
			PARLEY_HTTP_PORT: String(port),
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(randomMediaPort()),
			PARLEY_OPS_DRAIN_GRACE_MS: String(graceMs),
			PARLEY_LOG_LEVEL: 'info',
			PARLEY_DATA_DIR: dataDir,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let out = '';
	child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
	child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
		child.once('exit', (code, signal) => resolve({ code, signal })),
	);
	const url = `http://127.0.0.1:${port}`;
	const until = Date.now() + 20_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`the server exited: ${out}`);
		const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
		if (ok) break;
		if (Date.now() > until) throw new Error(`the server did not get ready: ${out}`);
		await new Promise((r) => setTimeout(r, 100));
	}
	return {
		child,
		url,
		exited,
		output: () => out,
		close: () => {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

async function participant(url: string, room: string, identity: string): Promise<TestClient> {
	const config = loadConfig({ env: { PARLEY_AUTH_JWT_SECRETS: SECRET } });
	const { token } = mintToken(config.auth, { room, identity, name: identity });
	const socket: TestClient = connect(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
	await new Promise<void>((resolve, reject) => {
		socket.once('connect', () => resolve());
		socket.once('connect_error', reject);
	});
	await joinRoom(socket);
	return socket;
}

describe('signals', () => {
	it('SIGTERM: not ready at once, the meeting goes on for the grace period, then ends and the server exits', { timeout: 30_000 }, async () => {
		const s = await startMain(1500);
		const alice = await participant(s.url, 'standup', 'alice');
		try {
			const ended = next(alice, 'session:ended', () => true, 5000);
			const t0 = Date.now();
			s.child.kill('SIGTERM');
			await new Promise((r) => setTimeout(r, 300));
			assert.equal((await fetch(`${s.url}/readyz`)).status, 503, 'not ready while draining');
			assert.equal(s.child.exitCode, null, 'still serving the meeting');
			assert.deepEqual(await ended, { reason: 'server-shutdown' });
			assert.ok(Date.now() - t0 >= 1200, `the meeting was ended after the grace period (${Date.now() - t0} ms)`);
			const { code } = await s.exited;
			assert.equal(code, 0, s.output());
			assert.match(s.output(), /draining before exit/);
		} finally {
			alice.disconnect();
			s.close();
		}
	});

	it('SIGTERM without meetings exits at once; SIGINT twice exits at once during a meeting', { timeout: 30_000 }, async () => {
		const idle = await startMain(60_000);
		try {
			const t0 = Date.now();
			idle.child.kill('SIGTERM');
			assert.equal((await idle.exited).code, 0, idle.output());
			assert.ok(Date.now() - t0 < 3000, `exited in ${Date.now() - t0} ms`);
		} finally {
			idle.close();
		}

		const busy = await startMain(60_000);
		const bob = await participant(busy.url, 'standup', 'bob');
		try {
			busy.child.kill('SIGINT');
			await new Promise((r) => setTimeout(r, 300));
			assert.equal(busy.child.exitCode, null, 'the first Ctrl-C drains');
			assert.equal((await fetch(`${busy.url}/readyz`)).status, 503);
			const t0 = Date.now();
			busy.child.kill('SIGINT');
			const { code } = await busy.exited;
			assert.equal(code, 130, busy.output());
			assert.ok(Date.now() - t0 < 2000, `the second Ctrl-C exited in ${Date.now() - t0} ms`);
		} finally {
			bob.disconnect();
			busy.close();
		}
	});
});
