/**
 * The invitations hosts made, per room, so that they can be listed and revoked. Kept in
 * `<data.dir>/invites.json` (written atomically on every change; a few hundred entries
 * at most), so a revoked invitation stays revoked after a restart. Expired entries are
 * dropped. One machine only: with several nodes, put them behind the same data folder.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { InviteRoleSchema, type InviteInfo } from '../protocol/index.ts';

/** Bound on what one room's hosts can create. */
export const MAX_INVITES_PER_ROOM = 50;

const InviteInfoSchema = z.object({
	id: z.string(),
	room: z.string(),
	role: InviteRoleSchema,
	createdBy: z.string(),
	createdAt: z.number(),
	expiresAt: z.number(),
	revoked: z.boolean(),
});
const FileSchema = z.object({ version: z.literal(1), invites: z.array(InviteInfoSchema) });

export class InviteStore {
	readonly #file: string | null;
	readonly #log: Logger | undefined;
	readonly #invites = new Map<string, InviteInfo>();

	/** `dataDir: null` keeps everything in memory (tests). */
	constructor({ dataDir, logger }: { dataDir: string | null; logger?: Logger }) {
		this.#file = dataDir ? path.join(dataDir, 'invites.json') : null;
		this.#log = logger;
		this.#load();
	}

	/** The room's invitations (revoked ones included, expired ones not), newest first. */
	list(room: string, now = Date.now()): InviteInfo[] {
		this.#prune(now);
		return [...this.#invites.values()].filter((i) => i.room === room).sort((a, b) => b.createdAt - a.createdAt);
	}

	/** Whether the room may have another invitation. */
	hasRoomFor(room: string, now = Date.now()): boolean {
		return this.list(room, now).filter((i) => !i.revoked).length < MAX_INVITES_PER_ROOM;
	}

	add(info: InviteInfo): void {
		this.#invites.set(info.id, info);
		this.#save();
	}

	/** Revokes one of the room's invitations; false when the room has no such invitation. */
	revoke(room: string, id: string): boolean {
		const info = this.#invites.get(id);
		if (!info || info.room !== room) return false;
		if (!info.revoked) {
			this.#invites.set(id, { ...info, revoked: true });
			this.#save();
		}
		return true;
	}

	isRevoked(id: string): boolean {
		return this.#invites.get(id)?.revoked === true;
	}

	#prune(now: number): void {
		let changed = false;
		for (const [id, info] of this.#invites) {
			if (info.expiresAt * 1000 < now) {
				this.#invites.delete(id);
				changed = true;
			}
		}
		if (changed) this.#save();
	}

	#load(): void {
		if (!this.#file) return;
		let text: string;
		try {
			text = readFileSync(this.#file, 'utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
			throw error;
		}
		const parsed = FileSchema.safeParse(JSON.parse(text));
		if (!parsed.success) {
			this.#log?.error({ file: this.#file }, 'invites file unreadable; starting without invitations');
			return;
		}
		for (const info of parsed.data.invites) this.#invites.set(info.id, info);
	}

	#save(): void {
		if (!this.#file) return;
		mkdirSync(path.dirname(this.#file), { recursive: true });
		const tmp = `${this.#file}.tmp`;
		writeFileSync(tmp, JSON.stringify({ version: 1, invites: [...this.#invites.values()] }), { mode: 0o600 });
		renameSync(tmp, this.#file);
	}
}
