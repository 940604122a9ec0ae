/**
 * Which binary mediasoup spawns for a worker. On systems with `setsid` (Linux: util-linux,
 * busybox) it is own-session.sh, which starts mediasoup's worker binary in a session of
 * its own: a signal sent to Parley's whole process group (Ctrl-C in a terminal) then
 * reaches only Node, which drains the meetings before it closes the workers, instead of
 * every worker closing at once and every call losing its media. Elsewhere (or with
 * `ownSession: false`) mediasoup's own binary, as before.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';

const WRAPPER = fileURLToPath(new URL('./own-session.sh', import.meta.url));
/**
 * How own-session.sh learns the real binary (the worker inherits Node's environment). Not
 * PARLEY_*: the configuration refuses unknown PARLEY_ variables.
 */
const REAL_BIN_ENV = 'OWN_SESSION_MEDIASOUP_WORKER';

function executable(file: string): boolean {
	try {
		accessSync(file, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/** Where program `name` is: the first folder of PATH, then of `extraDirs`, that holds it executable; null if none. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | null {
	const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), ...extraDirs].filter((dir) => dir !== '');
	for (const dir of dirs) if (executable(path.join(dir, name))) return path.join(dir, name);
	return null;
}

let cached: string | undefined;

/**
 * The `workerBin` to give mediasoup.createWorker(): undefined means mediasoup's own
 * (MEDIASOUP_WORKER_BIN or the one in its package).
 */
export function workerSpawnBin(ownSession = true): string | undefined {
	if (!ownSession || process.platform === 'win32') return undefined;
	if (cached === undefined) {
		cached = executable(WRAPPER) && executable('/bin/sh') && findExecutable('setsid') !== null ? WRAPPER : '';
		if (cached) process.env[REAL_BIN_ENV] = mediasoup.workerBin;
	}
	return cached || undefined;
}
