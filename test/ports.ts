/**
 * Ports for tests and benchmarks.
 *
 * Media ports are fixed by the caller (the SFU announces them), so they must not come from
 * the kernel's ephemeral range (Linux: 32768-60999): any outgoing connection (Chromium,
 * Redis clients, HTTP) or unconnected UDP socket may hold such a port, and a server told to
 * listen there then fails with EADDRINUSE. That happened in CI (a second server on
 * 42180/tcp). Test media ports therefore come from 20000-31999.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const TEST_MEDIA_PORT_MIN = 20_000;
export const TEST_MEDIA_PORT_MAX = 31_999;
const RECORDER_PORT_MIN = 32_000;
const RECORDER_PORT_MAX = 32_767;
/** Ports per reserved block: the largest span a caller asks for. */
const BLOCK = 40;

/**
 * Blocks of ports held by running test processes: one lock file per block, holding the
 * holder's pid, in TEST_PORT_LOCK_DIR (default: parley-test-ports in the temp folder). Test
 * files run two at a time (npm test), each starting servers on "random" ports; without
 * this, two files could pick overlapping ranges (~0.2 % per pair of media servers alive at
 * once, ~5-10 % per pair of recorder tests), and one of them would fail to listen.
 */
const lockDir = (): string => process.env.TEST_PORT_LOCK_DIR ?? path.join(os.tmpdir(), 'parley-test-ports');
const ours: string[] = [];
let releaseHooked = false;

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/** Claim the lock file, or take it over from a holder that is gone; false if a live process holds it. */
function claim(file: string): boolean {
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			const fd = openSync(file, 'wx');
			writeSync(fd, String(process.pid));
			closeSync(fd);
			return true;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			let holder = 0;
			try {
				holder = Number(readFileSync(file, 'utf8'));
			} catch {
				// Released meanwhile: try again.
			}
			if (holder > 0 && alive(holder)) return false;
			try {
				unlinkSync(file); // a stale lock of a process that died without releasing it
			} catch {
				// Someone else removed it first.
			}
		}
	}
	return false;
}

function release(): void {
	for (const file of ours.splice(0)) {
		try {
			unlinkSync(file);
		} catch {
			// Already gone.
		}
	}
}

/** The first port of a block of BLOCK ports in [min, max] that no other running test process holds (held until this process exits). */
function reserveBlock(kind: string, min: number, max: number, span: number): number {
	if (span > BLOCK) throw new Error(`a test port range of ${span} is more than a block (${BLOCK})`);
	const dir = lockDir();
	mkdirSync(dir, { recursive: true });
	if (!releaseHooked) {
		releaseHooked = true;
		process.once('exit', release);
	}
	const blocks = Math.floor((max - min + 1) / BLOCK);
	const first = Math.floor(Math.random() * blocks);
	for (let i = 0; i < blocks; i++) {
		const index = (first + i) % blocks;
		const file = path.join(dir, `${kind}-${min + index * BLOCK}`);
		if (claim(file)) {
			ours.push(file);
			return min + index * BLOCK;
		}
	}
	throw new Error(`no free block of ${kind} test ports left in ${min}-${max} (locks in ${dir})`);
}

/**
 * A media base port below the ephemeral range, with room for `span` ports after it, that no
 * other running test process was given.
 */
export function randomMediaPort(span = 10): number {
	return reserveBlock('media', TEST_MEDIA_PORT_MIN, TEST_MEDIA_PORT_MAX, span);
}

/**
 * An even base for a test's recorder RTP ports (`span` ports from it): 32000-32767, below the
 * ephemeral range and apart from randomMediaPort's, so neither a client's socket nor the
 * test server's own media port can hold one; no other running test process gets the same.
 */
export function randomRecorderPortBase(span = 40): number {
	return reserveBlock('recorder', RECORDER_PORT_MIN, RECORDER_PORT_MAX, span);
}

/** A free loopback TCP port chosen by the kernel (it may be taken again before use). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}
