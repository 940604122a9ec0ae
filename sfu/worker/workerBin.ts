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

function onPath(name: string): boolean {
	return (process.env['PATH'] ?? '')
		.split(path.delimiter)
		.some((dir) => dir !== '' && executable(path.join(dir, name)));
}

let cached: string | undefined;

/**
 * The `workerBin` to give mediasoup.createWorker(): undefined means mediasoup's own
 * (MEDIASOUP_WORKER_BIN or the one in its package).
 */
export function workerSpawnBin(ownSession = true): string | undefined {
	if (!ownSession || process.platform === 'win32') return undefined;
	if (cached === undefined) {
		cached = executable(WRAPPER) && executable('/bin/sh') && onPath('setsid') ? WRAPPER : '';
		if (cached) process.env[REAL_BIN_ENV] = mediasoup.workerBin;
	}
	return cached || undefined;
}
