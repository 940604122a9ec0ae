/** The embedded webhook queue: a table in a SQLite file in the data folder (survives restarts). */
import { DatabaseSync } from 'node:sqlite';
import type { Delivery, WebhookQueue } from './types.ts';

interface Row {
	id: string;
	url: string;
	body: string;
	created_at: number;
	due_at: number;
	attempts: number;
}

export class SqliteWebhookQueue implements WebhookQueue {
	readonly #db: DatabaseSync;

	constructor(file: string) {
		this.#db = new DatabaseSync(file);
		this.#db.exec(`
			PRAGMA journal_mode = WAL;
			PRAGMA synchronous = FULL;
			PRAGMA busy_timeout = 5000;
			CREATE TABLE IF NOT EXISTS webhook_deliveries (
				id         TEXT PRIMARY KEY,
				url        TEXT NOT NULL,
				body       TEXT NOT NULL,
				created_at INTEGER NOT NULL,
				due_at     INTEGER NOT NULL,
				attempts   INTEGER NOT NULL
			) STRICT;
			CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (due_at);
		`);
	}

	async add(deliveries: Delivery[]): Promise<void> {
		const insert = this.#db.prepare(
			'INSERT OR IGNORE INTO webhook_deliveries (id, url, body, created_at, due_at, attempts) VALUES (?, ?, ?, ?, ?, ?)',
		);
		this.#db.exec('BEGIN IMMEDIATE');
		try {
			for (const d of deliveries) insert.run(d.id, d.url, d.body, d.createdAt, d.dueAt, d.attempts);
			this.#db.exec('COMMIT');
		} catch (error) {
			this.#db.exec('ROLLBACK');
			throw error;
		}
	}

	async due(now: number, limit: number): Promise<Delivery[]> {
		const rows = this.#db
			.prepare('SELECT id, url, body, created_at, due_at, attempts FROM webhook_deliveries WHERE due_at <= ? ORDER BY due_at, id LIMIT ?')
			.all(now, limit) as unknown as Row[];
		return rows.map((r) => ({ id: r.id, url: r.url, body: r.body, createdAt: r.created_at, dueAt: r.due_at, attempts: r.attempts }));
	}

	async remove(id: string): Promise<void> {
		this.#db.prepare('DELETE FROM webhook_deliveries WHERE id = ?').run(id);
	}

	async retryAt(id: string, dueAt: number, attempts: number): Promise<void> {
		this.#db.prepare('UPDATE webhook_deliveries SET due_at = ?, attempts = ? WHERE id = ?').run(dueAt, attempts, id);
	}

	async size(): Promise<number> {
		const row = this.#db.prepare('SELECT count(*) AS n FROM webhook_deliveries').get() as { n: number };
		return row.n;
	}

	async close(): Promise<void> {
		if (this.#db.isOpen) this.#db.close();
	}
}
