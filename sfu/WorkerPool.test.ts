/**
 * The worker pool against real mediasoup workers: a pool closed while it replaces a dead
 * worker leaves no worker behind; a worker that keeps dying is replaced ever more slowly; a
 * media port that is taken fails start-up with a clear error; a signal to Parley's process
 * group does not reach the workers; the socket buffer setting reaches the sockets.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pino, type Logger } from 'pino';
import { childrenOf } from '../bench/lib/proc.ts';
import { ephemeralPortHint, WorkerPool } from './WorkerPool.ts';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomMediaPort } from '../test/ports.ts';

/** A pool of one worker (or more) on loopback, on a random port. */
function onePool(respawnDelayMs: number, logger: Logger = pino({ level: 'silent' }), workers = 1, respawnDelayWithOthersMs?: number): Promise<WorkerPool> {
	return WorkerPool.create({
		workers,
		...(respawnDelayWithOthersMs === undefined ? {} : { respawnDelayWithOthersMs }),
		listenIp: '127.0.0.1',
		announcedAddress: '127.0.0.1',
		basePort: randomMediaPort(),
		logLevel: 'error',
		logger,
		respawnDelayMs,
	});
}

/**
 * This process's worker processes, also those still starting: all its child processes (a
 * worker is started through own-session.sh and setsid, each exec'ing the next, so its
 * command name changes on the way; these tests start nothing else).
 */
function workerProcesses(): string[] {
	return childrenOf(process.pid).map((pid) => {
		try {
			return `${pid} ${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}`;
		} catch {
			return `${pid} (gone)`;
		}
	});
}

it('a pool closed while a dead worker is being replaced leaves no mediasoup-worker process', async () => {
	for (let round = 0; round < 3; round++) {
		const pool = await onePool(0);
		const died = new Promise<void>((resolve) => pool.once('workerdied', () => resolve()));
		process.kill(pool.workers[0]!.worker.pid, 'SIGKILL');
		await died;
		// The replacement is starting: close now, a few ms into it (varied per round).
		await new Promise((r) => setTimeout(r, round * 3));
		pool.close();
		const deadline = Date.now() + 3000;
		while (workerProcesses().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		assert.deepEqual(workerProcesses(), [], `round ${round}: a worker outlived its pool`);
	}
});

it('a worker that keeps dying is replaced after a growing delay', { timeout: 20_000 }, async () => {
	const logged: { msg: string; delayMs?: number }[] = [];
	const pool = await onePool(100, pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; delayMs?: number }) }));
	try {
		const waits: number[] = [];
		for (let death = 0; death < 3; death++) {
			const respawned = new Promise<void>((resolve) => pool.once('workerrespawned', () => resolve()));
			const died = new Promise<number>((resolve) => pool.once('workerdied', () => resolve(performance.now())));
			process.kill(pool.workers[0]!.worker.pid, 'SIGKILL');
			const diedAt = await died;
			await respawned;
			waits.push(performance.now() - diedAt);
		}
		const delays = logged.filter((l) => l.msg === 'mediasoup worker replaced').map((l) => l.delayMs);
		assert.deepEqual(delays, [100, 200, 400], 'the delay doubles with each death in a minute');
		waits.forEach((wait, i) => assert.ok(wait >= delays[i]! - 5, `replaced after ${Math.round(wait)} ms, before its delay`));
	} finally {
		pool.close();
	}
});

it('while another worker is alive, a dead one is replaced later (its start-up does not compete with the move)', { timeout: 20_000 }, async () => {
	const logged: { msg: string; delayMs?: number }[] = [];
	const pool = await onePool(100, pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; delayMs?: number }) }), 2, 600);
	try {
		const respawned = new Promise<void>((resolve) => pool.once('workerrespawned', () => resolve()));
		const died = new Promise<number>((resolve) => pool.once('workerdied', () => resolve(performance.now())));
		process.kill(pool.workers[0]!.worker.pid, 'SIGKILL');
		const diedAt = await died;
		assert.equal(pool.workers.length, 1, 'the other worker is alive');
		await respawned;
		const wait = performance.now() - diedAt;
		assert.ok(wait >= 595, `replaced after ${Math.round(wait)} ms (600 ms while another is alive)`);
		assert.deepEqual(logged.filter((l) => l.msg === 'mediasoup worker replaced').map((l) => l.delayMs), [600]);
		assert.equal(pool.workers.length, 2);
	} finally {
		pool.close();
	}
});

it('a media port held by another socket fails start-up with a clear error, naming the ephemeral range when the port is in it', async () => {
	// An outgoing connection's local port is what holds such a port in practice; a listener
	// on it does the same to the worker's TCP listen.
	const holder = net.createServer();
	await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
	const held = (holder.address() as net.AddressInfo).port;
	try {
		await assert.rejects(
			WorkerPool.create({ workers: 1, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', basePort: held, logLevel: 'error', logger: pino({ level: 'silent' }), respawnDelayMs: 0 }),
			(error: Error) => {
				assert.match(error.message, new RegExp(`cannot listen for media on 127\\.0\\.0\\.1:${held}`));
				assert.match(error.message, /inside the kernel's ephemeral range \d+-\d+/, 'a kernel-chosen port is in the ephemeral range: the hint says so');
				return true;
			},
		);
		const deadline = Date.now() + 3000;
		while (workerProcesses().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		assert.deepEqual(workerProcesses(), [], 'the worker that could not listen is gone');
	} finally {
		holder.close();
	}
});

it('the ephemeral-range hint is empty outside the range or without the range file', () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-range-'));
	const file = path.join(dir, 'range');
	writeFileSync(file, '32768\t60999\n');
	assert.match(ephemeralPortHint(40000, file), /ephemeral range 32768-60999.*below 32768.*ip_local_reserved_ports=40000/);
	assert.equal(ephemeralPortHint(20000, file), '');
	assert.equal(ephemeralPortHint(40000, path.join(dir, 'missing')), '');
	rmSync(dir, { recursive: true, force: true });
});

/** The session id of a process (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number): number {
	const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
	return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[3]);
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

it('a signal to Parley\'s process group (Ctrl-C) does not reach the workers, and they still end with Node', { timeout: 20_000 }, async () => {
	// A server in a process group of its own, as a terminal starts it; it ignores SIGINT
	// (Parley drains on it) and prints its worker's PID.
	const code = `
		import { pino } from 'pino';
		import { WorkerPool } from ${JSON.stringify(new URL('./WorkerPool.ts', import.meta.url).href)};
		process.on('SIGINT', () => console.log('SIGINT'));
		const pool = await WorkerPool.create({ workers: 1, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', basePort: ${randomMediaPort()}, logLevel: 'error', logger: pino({ level: 'silent' }) });
		console.log('worker ' + pool.workers[0].worker.pid);
		setInterval(() => undefined, 1000);
	`;
	const server = spawn(process.execPath, ['--input-type=module', '-e', code], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], cwd: path.dirname(fileURLToPath(import.meta.url)) });
	let out = '';
	server.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
	try {
		const deadline = Date.now() + 10_000;
		while (!/worker (\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		const workerPid = Number(/worker (\d+)/.exec(out)?.[1]);
		assert.ok(workerPid > 0, `the server printed its worker's PID: ${out}`);
		assert.match(readlinkSync(`/proc/${workerPid}/exe`), /mediasoup-worker/, 'the PID mediasoup knows is the worker itself (no shell left between)');
		assert.notEqual(sessionOf(workerPid), sessionOf(server.pid!), 'the worker is in a session of its own');
		process.kill(-server.pid!, 'SIGINT');
		await new Promise((r) => setTimeout(r, 700));
		assert.match(out, /SIGINT/, 'Node got the group\'s SIGINT');
		assert.ok(alive(workerPid), 'the worker did not get it: it lives until Parley closes it');
		process.kill(server.pid!, 'SIGKILL');
		const gone = Date.now() + 5000;
		while (alive(workerPid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
		assert.ok(!alive(workerPid), 'the worker ends when Node dies, whatever the signal (its channel closes)');
	} finally {
		try {
			process.kill(-server.pid!, 'SIGKILL');
		} catch {
			// already gone
		}
	}
});

/** The receive buffer (rb) of the UDP socket bound to this port, as `ss` reports it. */
function receiveBuffer(port: number): number {
	const out = execFileSync('ss', ['-u', '-a', '-n', '-m', `sport = :${port}`], { encoding: 'utf8' });
	const match = /skmem:\(r\d+,rb(\d+)/.exec(out);
	assert.ok(match, `ss shows the socket on ${port}: ${out}`);
	return Number(match[1]);
}

it('media.socketBufferBytes sets the workers\' socket buffers', { skip: !existsSync('/usr/bin/ss') && !existsSync('/bin/ss') ? 'no ss (iproute2)' : false }, async () => {
	const asked = 64 * 1024; // under any net.core.rmem_max: granted in full (Linux doubles it)
	const plain = await onePool(0);
	const sized = await WorkerPool.create({ workers: 1, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', basePort: randomMediaPort(), logLevel: 'error', logger: pino({ level: 'silent' }), socketBufferBytes: asked });
	try {
		assert.equal(receiveBuffer(sized.ports[0]!), 2 * asked);
		assert.notEqual(receiveBuffer(plain.ports[0]!), 2 * asked, 'without it the kernel default applies');
	} finally {
		plain.close();
		sized.close();
	}
});
