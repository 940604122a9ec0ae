/**
 * A Redis for tests: PARLEY_TEST_REDIS_URL when set, otherwise a throwaway redis-server of the
 * test file's own on a free loopback port (no persistence), stopped by `stop()` and killed when
 * the test process exits if it was not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './ports.ts';

/** A throwaway redis-server (default: no persistence) on this port, resolved once it accepts connections. */
export function startRedisOnce(port: number, persistence: readonly string[] = ['--save', '', '--appendonly', 'no']): Promise<ChildProcess> {
	return new Promise((resolve, reject) => {
		const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], {
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let output = '';
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`redis-server did not become ready within 5 s:\n${output}`));
		}, 5000);
		const onData = (chunk: Buffer): void => {
			output += chunk.toString();
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				// Not left behind when the test file ends without stopping it (a failed before(), an uncaught error).
				const orphaned = (): void => {
					if (child.exitCode === null) child.kill('SIGKILL');
				};
				process.once('exit', orphaned);
				child.once('exit', () => process.off('exit', orphaned));
				resolve(child);
			}
		};
		child.stdout?.on('data', onData);
		child.stderr?.on('data', onData);
		child.once('error', (error: NodeJS.ErrnoException) => {
			clearTimeout(timer);
			reject(
				error.code === 'ENOENT'
					? new Error('redis-server is not installed (not on PATH): install Redis (npm run setup does) or set PARLEY_TEST_REDIS_URL')
					: error,
			);
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`));
		});
	});
}

/**
 * A redis-server of the test's own with these persistence options (default none), on a free
 * loopback port (stop it with kill; it is killed when the test process exits).
 */
export async function startRedisWith(persistence?: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
	let lastError: unknown;
	for (let attempt = 0; attempt < 3; attempt++) {
		const port = await freePort();
		try {
			return { child: await startRedisOnce(port, persistence), port };
		} catch (error) {
			if (error instanceof Error && error.message.includes('not installed')) throw error;
			lastError = error; // most likely the port was taken in between: try another
		}
	}
	throw lastError;
}

export async function redisForTests(): Promise<{ url: string; stop: () => Promise<void> }> {
	const external = process.env.PARLEY_TEST_REDIS_URL;
	if (external) return { url: external, stop: async () => {} };
	const { child, port } = await startRedisWith();
	return {
		url: `redis://127.0.0.1:${port}`,
		stop: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGTERM');
			}),
	};
}