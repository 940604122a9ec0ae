/**
 * Test port blocks (test/ports.ts): two test processes running at once never get the same
 * block, a block whose holder died is taken over, and none is handed out when all are held.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const PORTS = new URL('./ports.ts', import.meta.url).href;
const dirs: string[] = [];
const holders: Holder[] = [];
after(async () => {
	// Also after a failed assertion: a holder left running would keep this file from ending.
	await Promise.all(holders.map((h) => h.end()));
	for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function lockDir(): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-port-locks-'));
	dirs.push(dir);
	return dir;
}

interface Holder {
	/** The blocks it reserved, or the error it got. */
	result: Promise<number[] | string>;
	/** Let it exit (it holds its blocks until then). */
	end(): Promise<void>;
}

/** A process that reserves `count` blocks of `kind` ports and holds them until told to end. */
function holder(dir: string, kind: 'media' | 'recorder', count: number): Holder {
	const fn = kind === 'media' ? 'randomMediaPort' : 'randomRecorderPortBase';
	const script = `import { ${fn} } from ${JSON.stringify(PORTS)};
let out;
try { out = Array.from({ length: ${count} }, () => ${fn}(10)); } catch (e) { out = String(e.message); }
console.log(JSON.stringify(out));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
	const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TEST_PORT_LOCK_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
	let text = '';
	const result = new Promise<number[] | string>((resolve, reject) => {
		child.stdout.on('data', (d: Buffer) => {
			text += d.toString();
			if (text.includes('\n')) resolve(JSON.parse(text) as number[] | string);
		});
		child.once('exit', (code) => reject(new Error(`holder exited with ${code} before answering`)));
	});
	const h: Holder = {
		result,
		end: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.stdin.end();
			}),
	};
	holders.push(h);
	return h;
}

describe('test port blocks', () => {
	it('two processes at once never share a block, and a process that exits frees its blocks', async () => {
		const dir = lockDir();
		// 40 of 300 media blocks: random picks alone would collide almost surely (birthday bound ~93 %).
		const [a, b] = [holder(dir, 'media', 20), holder(dir, 'media', 20)];
		const [ra, rb] = await Promise.all([a.result, b.result]);
		assert.ok(Array.isArray(ra) && Array.isArray(rb), `both got blocks: ${String(ra)} / ${String(rb)}`);
		assert.equal(new Set([...ra, ...rb]).size, 40, 'no block given twice');
		for (const base of [...ra, ...rb]) assert.ok(base >= 20_000 && base + 10 <= 31_999 && base % 2 === 0, `${base} in the media test range`);
		assert.equal(readdirSync(dir).length, 40, 'one lock per block');
		await Promise.all([a.end(), b.end()]);
		assert.deepEqual(readdirSync(dir), [], 'released at exit');
	});

	it('takes over a block whose holder is gone; refuses when live processes hold them all', async () => {
		const dir = lockDir();
		// The recorder range has 19 blocks; 18 held by a live process (this one), one by a dead pid.
		const bases = Array.from({ length: 19 }, (_, i) => 32_000 + i * 40);
		for (const base of bases.slice(1)) writeFileSync(path.join(dir, `recorder-${base}`), String(process.pid));
		writeFileSync(path.join(dir, `recorder-${bases[0]}`), '2147483646');
		const taker = holder(dir, 'recorder', 1);
		assert.deepEqual(await taker.result, [bases[0]], 'the dead holder’s block is taken over');
		const refused = holder(dir, 'recorder', 1);
		assert.match(String(await refused.result), /no free block of recorder test ports/);
		await Promise.all([taker.end(), refused.end()]);
	});
});
