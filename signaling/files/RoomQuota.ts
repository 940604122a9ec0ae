/**
 * Bounds on what a room's attachments may hold: a byte quota per room (checked before an
 * upload, which may then use only what is left) and a retention period after which files
 * are deleted (swept at start and every hour).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { isValidFileId } from './FileStore.ts';

/** Bytes used by a room's stored files (`<root>/<room>/<fileId>`). */
export async function roomUsage(root: string, room: string): Promise<number> {
	const dir = path.join(root, room);
	let names: string[];
	try {
		names = await fsp.readdir(dir);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
		throw error;
	}
	let total = 0;
	for (const name of names) {
		if (!isValidFileId(name)) continue;
		const stat = await fsp.stat(path.join(dir, name)).catch(() => null);
		if (stat?.isFile()) total += stat.size;
	}
	return total;
}

/** Delete files (and their metadata) older than `maxAgeMs`; returns how many were deleted. */
export async function pruneOldFiles(root: string, maxAgeMs: number, now = Date.now()): Promise<number> {
	let rooms: string[];
	try {
		rooms = await fsp.readdir(root);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
		throw error;
	}
	let deleted = 0;
	for (const room of rooms) {
		const dir = path.join(root, room);
		const names = await fsp.readdir(dir).catch(() => [] as string[]);
		for (const name of names) {
			if (!isValidFileId(name)) continue;
			const file = path.join(dir, name);
			const stat = await fsp.stat(file).catch(() => null);
			if (!stat || now - stat.mtimeMs <= maxAgeMs) continue;
			await fsp.rm(path.join(dir, `${name}.json`), { force: true });
			await fsp.rm(file, { force: true });
			deleted++;
		}
	}
	return deleted;
}

/** Sweep at start and every hour (the timer does not keep the process alive). */
export function scheduleRetention(root: string, retentionDays: number, log: Logger): () => void {
	if (retentionDays <= 0) return () => undefined;
	const sweep = (): void => {
		pruneOldFiles(root, retentionDays * 86_400_000).then(
			(deleted) => {
				if (deleted > 0) log.info({ deleted, retentionDays }, 'old attachments deleted');
			},
			(err: unknown) => log.warn({ err }, 'attachment retention sweep failed'),
		);
	};
	sweep();
	const timer = setInterval(sweep, 3_600_000);
	timer.unref();
	return () => clearInterval(timer);
}
