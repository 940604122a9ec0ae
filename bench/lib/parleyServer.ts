/**
 * Start a real Parley server (`node signaling/main.ts`) as a child process for the
 * benchmark: one mediasoup worker on loopback, a throwaway data directory, a random
 * JWT secret (the benchmark mints the bots' tokens with it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../signaling/auth/tokens.ts';
import { childrenOf } from './proc.ts';
import { freePort } from '../../test/ports.ts';

export interface ParleyServer {
	url: string;
	pid: number;
	workerPids: number[];
	token(room: string, identity: string, grants: { publish: boolean; subscribe: boolean }, role?: 'host'): string;
	/** The last lines the server printed. */
	output(): string;
	/** kill -9 (a crash): the process and its workers are gone at once; only a throwaway data folder of its own is removed (after it is gone). */
	kill(): Promise<void>;
	stop(): Promise<void>;
}


export interface StartParleyOptions {
	workers?: number;
	mediaPort: number;
	env?: Record<string, string>;
	/** JWT secret (default: a random one); nodes of one cluster share it. */
	secret?: string;
	/** HTTP port (default: a free one). */
	httpPort?: number;
	/** How long it may take to start (default 30 s). */
	startTimeoutMs?: number;
	/** Data folder to use and keep (default: a throwaway one, removed by stop()); a restarted server reuses it. */
	dataDir?: string;
}

export async function startParley(options: StartParleyOptions): Promise<ParleyServer> {
	const root = path.join(import.meta.dirname, '..', '..');
	const ownDataDir = options.dataDir === undefined;
	const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'parley-bench-data-'));
	const secret = options.secret ?? randomBytes(24).toString('hex');
	const httpPort = options.httpPort ?? (await freePort());
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARLEY_') && v !== undefined) env[k] = v;
	Object.assign(env, {
		PARLEY_DEV: 'false',
		PARLEY_AUTH_JWT_SECRETS: secret,
		PARLEY_HTTP_HOST: '127.0.0.1',
		PARLEY_HTTP_PORT: String(httpPort),
		PARLEY_MEDIA_WORKERS: String(options.workers ?? 1),
		PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
		PARLEY_MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
		PARLEY_MEDIA_BASE_PORT: String(options.mediaPort),
		PARLEY_ROOMS_MAX_PEERS: '1000',
		PARLEY_DATA_DIR: dataDir,
		PARLEY_LOG_LEVEL: 'warn',
		// Every bot connects from 127.0.0.1: lift the per-address caps meant for the internet.
		PARLEY_LIMITS_CONNECTIONS_PER_IP: '100000',
		PARLEY_LIMITS_IP_REQUESTS_PER_SECOND: '1000000',
		PARLEY_LIMITS_IP_REQUESTS_BURST: '1000000',
		PARLEY_LIMITS_PREPARED_PER_ADDRESS: '100000',
		...options.env,
	});
	const child: ChildProcess = spawn(process.execPath, [path.join(root, 'signaling', 'main.ts')], {
		cwd: root,
		env,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	const keep = (d: Buffer) => {
		output = (output + d.toString()).slice(-256_000);
	};
	child.stdout?.on('data', keep);
	child.stderr?.on('data', keep);
	const stop = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
			await exited;
			clearTimeout(timer);
		}
		if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
	};
	const kill = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGKILL');
			await exited;
		}
		// Nobody can start again on a folder whose name only this function knew.
		if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
	};
	const url = `http://127.0.0.1:${httpPort}`;
	const startTimeoutMs = options.startTimeoutMs ?? 30_000;
	const deadline = Date.now() + startTimeoutMs;
	const want = options.workers ?? 1;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) {
			await stop();
			throw new Error(`Parley exited with ${child.exitCode}: ${output}`);
		}
		const workers = childrenOf(child.pid!, 'mediasoup-worke');
		if (workers.length >= want) {
			try {
				const res = await fetch(`${url}/healthz`);
				if (res.ok) {
					const auth = { jwtSecrets: [secret], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600 };
					return {
						url,
						pid: child.pid!,
						workerPids: workers,
						token: (room, identity, grants, role) => mintToken(auth, { room, identity, name: identity, grants, ...(role ? { role } : {}) }).token,
						output: () => output,
						kill,
						stop,
					};
				}
			} catch {
				/* not listening yet */
			}
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	await stop();
	throw new Error(`Parley did not start within ${startTimeoutMs / 1000} s: ${output}`);
}
