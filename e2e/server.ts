/**
 * A Parley server of the test's own (production mode, or a dev server to restart), on
 * the ports the test gives. It serves the client the suite's webServer built. Ready when
 * it prints its plain "Parley is running: open <url>" line (which this also checks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface OwnServer {
	url: string;
	dataDir: string;
	/** SIGTERM, then wait for the process to exit. */
	stop(): Promise<void>;
	/** Stop, then start again with the same settings and data folder. */
	restart(): Promise<void>;
	/** Stop and remove the data folder. */
	dispose(): Promise<void>;
}

export interface OwnServerOptions {
	httpPort: number;
	mediaPort: number;
	dev: boolean;
	env?: Record<string, string>;
}

export async function startOwnServer(options: OwnServerOptions): Promise<OwnServer> {
	const url = `http://127.0.0.1:${options.httpPort}`;
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-own-'));
	const env: Record<string, string> = {
		PATH: process.env.PATH ?? '',
		HOME: process.env.HOME ?? '',
		PARLEY_DEV: String(options.dev),
		PARLEY_HTTP_HOST: '127.0.0.1',
		PARLEY_HTTP_PORT: String(options.httpPort),
		PARLEY_HTTP_PUBLIC_URL: url,
		PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
		PARLEY_MEDIA_BASE_PORT: String(options.mediaPort),
		PARLEY_MEDIA_WORKERS: '1',
		PARLEY_LOG_LEVEL: 'warn',
		PARLEY_DATA_DIR: dataDir,
		...options.env,
	};
	let child: ChildProcess | null = null;

	const start = async (): Promise<void> => {
		const proc = spawn(process.execPath, ['signaling/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
		child = proc;
		let output = '';
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`server on ${url} did not start:\n${output}`)), 20_000);
			const onData = (chunk: Buffer): void => {
				output += chunk.toString();
				if (output.includes(`Parley is running${options.dev ? ' (dev mode)' : ''}: open ${url}\n`)) {
					clearTimeout(timer);
					resolve();
				}
			};
			proc.stdout?.on('data', onData);
			proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
			proc.once('exit', (code) => {
				clearTimeout(timer);
				reject(new Error(`server on ${url} exited (${code}):\n${output}`));
			});
		});
		// A server that dies during a test says why (its last output), not just "connection refused" in the pages.
		proc.once('exit', (code, signal) => {
			if (child === proc) process.stderr.write(`[own server ${url}] exited (${code ?? signal}) during the test:\n${output.slice(-4000)}\n`);
		});
	};

	const stop = async (): Promise<void> => {
		const proc = child;
		child = null;
		if (!proc || proc.exitCode !== null) return;
		const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
		proc.kill('SIGTERM');
		const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
		await exited;
		clearTimeout(timer);
	};

	await start();
	return {
		url,
		dataDir,
		stop,
		restart: async () => {
			await stop();
			await start();
		},
		dispose: async () => {
			await stop();
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}
