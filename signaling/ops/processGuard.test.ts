/**
 * The process guard, in a process of its own: a stray rejection is logged and counted and
 * does not end the process; an uncaught exception ends it, after a fatal log line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const GUARD = fileURLToPath(new URL('./processGuard.ts', import.meta.url));

/** Runs `body` (ESM, with `guardProcess`, `pino` and `count` in scope) in a child Node; its exit and log lines. */
function run(body: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
	const script = `
		import { pino } from 'pino';
		import { guardProcess } from ${JSON.stringify(GUARD)};
		const logger = pino({ base: null });
		let count = 0;
		guardProcess(logger, () => { count++; });
		${body}
	`;
	const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
	let out = '';
	let err = '';
	child.stdout.on('data', (d: Buffer) => (out += d.toString()));
	child.stderr.on('data', (d: Buffer) => (err += d.toString()));
	return new Promise((resolve) => {
		child.on('exit', (code) => {
			const lines = out
				.split('\n')
				.filter((l) => l.startsWith('{'))
				.map((l) => JSON.parse(l) as Record<string, unknown>);
			resolve({ code, lines, stderr: err });
		});
	});
}

describe('process guard', () => {
	it('logs and counts a rejection nobody handled, and the process goes on', async () => {
		const { code, lines, stderr } = await run(`
			void Promise.reject(new Error('stray failure'));
			setTimeout(() => { logger.info({ count }, 'still alive'); }, 100);
		`);
		assert.equal(code, 0, stderr);
		const error = lines.find((l) => l.level === 50);
		assert.ok(error, 'an error line');
		assert.match(String(error.msg), /unhandled promise rejection/);
		assert.match(JSON.stringify(error.err), /stray failure/);
		assert.deepEqual(
			lines.filter((l) => l.msg === 'still alive').map((l) => l.count),
			[1],
		);
	});

	it('ends the process on an uncaught exception, after a fatal log line', async () => {
		const { code, lines } = await run(`
			setTimeout(() => { throw new Error('broken state'); }, 10);
			setTimeout(() => { logger.info('should not be reached'); }, 500);
		`);
		assert.equal(code, 1);
		const fatal = lines.find((l) => l.level === 60);
		assert.ok(fatal, 'a fatal line');
		assert.match(JSON.stringify(fatal.err), /broken state/);
		assert.equal(lines.some((l) => l.msg === 'should not be reached'), false);
	});
});
