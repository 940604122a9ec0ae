/**
 * Test helper: a real Parley server process (`node signaling/main.ts`) that a test can
 * `kill -9` and start again on the same port and data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface ParleyProcess {
	readonly child: ChildProcess;
	/** The last lines it wrote (stdout and stderr), for failure messages. */
	output(): string;
}

/**
 * Start `node signaling/main.ts` with these PARLEY_* variables (on top of a minimal
 * non-dev configuration on 127.0.0.1:port); resolves once it prints that it is running.
 */
export function startParley(port: number, env: Record<string, string>, timeoutMs = 30_000): Promise<ParleyProcess> {
	const child = spawn(process.execPath, ['signaling/main.ts'], {
		cwd: ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: {
			// Not the caller's PARLEY_* settings (a PARLEY_REDIS_URL in the shell would change the store).
			...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_'))),
			PARLEY_DEV: 'false',
			PARLEY_HTTP_HOST: '127.0.0.1',
			PARLEY_HTTP_PORT: String(port),
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(20000 + Math.floor(Math.random() * 20000)),
			PARLEY_LOG_LEVEL: 'warn',
			...env,
		},
	});
	let tail = '';
	const keep = (chunk: Buffer): void => {
		tail = (tail + chunk.toString()).slice(-8000);
	};
	const proc: ParleyProcess = { child, output: () => tail };
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`Parley did not start within ${timeoutMs} ms:\n${tail}`));
		}, timeoutMs);
		child.stdout.on('data', (chunk: Buffer) => {
			keep(chunk);
			if (tail.includes('Parley is running')) {
				clearTimeout(timer);
				resolve(proc);
			}
		});
		child.stderr.on('data', keep);
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			reject(new Error(`Parley exited (${code ?? signal}) before it was running:\n${tail}`));
		});
	});
}

/** SIGKILL the process; resolves once it is gone. */
export function kill9(child: ChildProcess): Promise<void> {
	return new Promise((resolve) => {
		if (child.exitCode !== null || child.signalCode !== null) return resolve();
		child.once('exit', () => resolve());
		child.kill('SIGKILL');
	});
}
