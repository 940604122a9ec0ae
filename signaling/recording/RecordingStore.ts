/**
 * Recordings on disk: `<dir>/<room>/<id>/` holds one file per track part and a
 * `manifest.json` (RecordingInfo) kept up to date as files are finished. Lists a room's
 * recordings, resolves a file for download (names checked, never a path out of the
 * folder), measures sizes and deletes recordings past their retention.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { COMPOSED_FILE, RecordingFileNameSchema, RecordingIdSchema, type RecordingInfo } from '../protocol/index.ts';

export class RecordingStore {
	readonly dir: string;
	readonly #log: Logger;

	constructor(dir: string, log: Logger) {
		this.dir = path.resolve(dir);
		this.#log = log;
	}

	folder(room: string, id: string): string {
		return path.join(this.dir, room, id);
	}

	async save(info: RecordingInfo): Promise<void> {
		const folder = this.folder(info.room, info.id);
		await mkdir(folder, { recursive: true });
		const tmp = path.join(folder, 'manifest.json.tmp');
		await writeFile(tmp, JSON.stringify(info, null, '\t'));
		await rename(tmp, path.join(folder, 'manifest.json'));
	}

	async list(room: string): Promise<RecordingInfo[]> {
		const ids = await readdir(path.join(this.dir, room)).catch(() => [] as string[]);
		const infos = await Promise.all(ids.filter((id) => RecordingIdSchema.safeParse(id).success).map((id) => this.get(room, id)));
		return infos.filter((i): i is RecordingInfo => i !== null).sort((a, b) => b.startedAt - a.startedAt);
	}

	async get(room: string, id: string): Promise<RecordingInfo | null> {
		if (!RecordingIdSchema.safeParse(id).success) return null;
		try {
			return JSON.parse(await readFile(path.join(this.folder(room, id), 'manifest.json'), 'utf8')) as RecordingInfo;
		} catch {
			return null;
		}
	}

	/** The path of a recorded file, or null when the recording or the file is not this room's. */
	async filePath(room: string, id: string, file: string): Promise<string | null> {
		if (!RecordingFileNameSchema.safeParse(file).success) return null;
		const info = await this.get(room, id);
		const composed = file === COMPOSED_FILE && info?.composed?.state === 'ready';
		if (!info || (!composed && !info.files.some((f) => f.file === file))) return null;
		return path.join(this.folder(room, id), file);
	}

	/** Bytes of the files in one recording's folder. */
	async folderBytes(room: string, id: string): Promise<number> {
		return sizeOf(this.folder(room, id));
	}

	/** Bytes of every recording. */
	async totalBytes(): Promise<number> {
		return sizeOf(this.dir);
	}

	/** Delete recordings that ended more than `retentionDays` ago (0: keep forever). */
	async sweep(retentionDays: number, now = Date.now()): Promise<number> {
		if (retentionDays <= 0) return 0;
		const cutoff = now - retentionDays * 86_400_000;
		let deleted = 0;
		for (const room of await readdir(this.dir).catch(() => [] as string[])) {
			for (const info of await this.list(room)) {
				if (info.endedAt !== null && info.endedAt < cutoff) {
					await rm(this.folder(room, info.id), { recursive: true, force: true });
					deleted++;
				}
			}
		}
		if (deleted > 0) this.#log.info({ deleted, retentionDays }, 'old recordings deleted');
		return deleted;
	}
}

async function sizeOf(dir: string): Promise<number> {
	let total = 0;
	const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
	for (const e of entries) {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) total += await sizeOf(p);
		else if (e.isFile()) total += await stat(p).then((s) => s.size, () => 0);
	}
	return total;
}
