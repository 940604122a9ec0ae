/**
 * A second Parley server for specs that need other settings than the shared one (e.g. TURN
 * configured): `node signaling/main.ts` in dev mode on E2E_HTTP_PORT + 1 and media port
 * E2E_MEDIA_PORT + 10, serving the client the shared web server already built. Stopped by PID.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import config from './playwright.config.ts';

export interface ExtraServer {
	baseURL: string;
	mediaPort: number;
	pid: number;
	output(): string;
	stop(): Promise<void>;
}

function sharedEnv(): Record<string, string> {
	const server = Array.isArray(config.webServer) ? config.webServer[0] : config.webServer;
	return { ...(server?.env ?? {}) } as Record<string, string>;
}

export async function startExtraServer(extraEnv: Record<string, string>): Promise<ExtraServer> {
	const shared = sharedEnv();
	const httpPort = Number(shared.PARLEY_HTTP_PORT) + 1;
	const mediaPort = Number(shared.PARLEY_MEDIA_BASE_PORT) + 10;
	const baseURL = `http://127.0.0.1:${httpPort}`;
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-extra-'));
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARLEY_') && v !== undefined) env[k] = v;
	Object.assign(env, shared, {
		PARLEY_HTTP_PORT: String(httpPort),
		PARLEY_HTTP_PUBLIC_URL: baseURL,
		PARLEY_MEDIA_BASE_PORT: String(mediaPort),
		PARLEY_DATA_DIR: dataDir,
		...extraEnv,
	});
	const root = fileURLToPath(new URL('..', import.meta.url));
	const child = spawn(process.execPath, [path.join(root, 'signaling', 'main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	const keep = (d: Buffer): void => {
		output = (output + d.toString()).slice(-6000);
	};
	child.stdout.on('data', keep);
	child.stderr.on('data', keep);
	const stop = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dataDir, { recursive: true, force: true });
	};
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) break;
		try {
			if ((await fetch(`${baseURL}/healthz`)).ok) return { baseURL, mediaPort, pid: child.pid!, output: () => output, stop };
		} catch {
			// Not listening yet.
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	await stop();
	throw new Error(`the extra Parley server did not start: ${output}`);
}
