import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SQLITE_FILE_NAME, createMessageStore } from './index.ts';
import { messageStoreContract } from '../../test/messageStoreContract.ts';
import { SqliteMessageStore } from './SqliteMessageStore.ts';

function tempDir(): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), 'parley-chat-'));
}

messageStoreContract({
	name: 'SQLite',
	async createEnv() {
		const dir = tempDir();
		const file = path.join(dir, 'messages.sqlite');
		return {
			open: async (options) => new SqliteMessageStore(file, options),
			dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
		};
	},
});

describe('SqliteMessageStore specifics', () => {
	test('uses WAL journaling on a file', async () => {
		const dir = tempDir();
		try {
			const file = path.join(dir, 'm.sqlite');
			const store = new SqliteMessageStore(file);
			await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'x' });
			const db = new DatabaseSync(file);
			assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
			db.close();
			await store.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test("works in memory (':memory:')", async () => {
		const store = new SqliteMessageStore(':memory:');
		const { message } = await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'x' });
		assert.equal(message.seq, 1);
		assert.deepEqual(await store.after('r', 'bob', 0, 10), [message]);
		await store.close();
		await assert.rejects(store.lastSeq('r'), /closed/);
	});

	test('deleteRoom removes every row of the room but its seq counter', async () => {
		const dir = tempDir();
		try {
			const file = path.join(dir, 'm.sqlite');
			const store = new SqliteMessageStore(file);
			const base = { from: 'alice', fromName: 'A', text: 'x' };
			await store.append({ ...base, id: 'a', room: 'gone' });
			await store.append({ ...base, id: 'b', room: 'gone', to: 'bob' });
			await store.append({ ...base, id: 'a', room: 'kept' });
			for (const room of ['gone', 'kept']) {
				await store.markDelivered(room, 1, 'bob');
				await store.markRead(room, 1, 'carol');
			}
			await store.deleteRoom('gone');
			const db = new DatabaseSync(file);
			const count = (table: string, room: string) =>
				db.prepare(`SELECT count(*) AS n FROM ${table} WHERE room = ?`).get(room)?.n;
			for (const table of ['chat_messages', 'chat_delivered', 'chat_reads']) {
				assert.equal(count(table, 'gone'), 0, table);
				assert.equal(count(table, 'kept'), 1, table);
			}
			assert.equal(count('chat_rooms', 'gone'), 1);
			db.close();
			await store.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('refuses a database with a newer schema version', () => {
		const dir = tempDir();
		try {
			const file = path.join(dir, 'm.sqlite');
			const db = new DatabaseSync(file);
			db.exec('PRAGMA user_version = 99');
			db.close();
			assert.throws(() => new SqliteMessageStore(file), /schema version 99/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('createMessageStore without a Redis URL opens messages.sqlite in the data directory', async () => {
		const dir = tempDir();
		try {
			const dataDir = path.join(dir, 'nested', 'data');
			const store = createMessageStore({ dataDir, redisUrl: '' });
			assert.ok(store instanceof SqliteMessageStore);
			await store.append({ id: 'a', room: 'r', from: 'alice', fromName: 'A', text: 'x' });
			await store.close();
			assert.ok(fs.existsSync(path.join(dataDir, SQLITE_FILE_NAME)));
			const again = createMessageStore({ dataDir });
			assert.equal(await again.lastSeq('r'), 1);
			await again.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('two threads appending to the same file at once get seqs 1..200 without gaps or duplicates', { timeout: 30_000 }, async () => {
		const dir = tempDir();
		const file = path.join(dir, 'shared.sqlite');
		const moduleUrl = new URL('./SqliteMessageStore.ts', import.meta.url).href;
		const start = new Int32Array(new SharedArrayBuffer(4));
		const code = `
			(async () => {
				const { workerData, parentPort } = await import('node:worker_threads');
				const { SqliteMessageStore } = await import(workerData.moduleUrl);
				const store = new SqliteMessageStore(workerData.file);
				parentPort.postMessage('ready');
				Atomics.wait(workerData.start, 0, 0);
				const seqs = [];
				for (let i = 0; i < workerData.count; i++) {
					const { message } = await store.append({
						id: workerData.name + '-' + i, room: 'shared', from: workerData.name, fromName: workerData.name, text: 't' + i,
					});
					seqs.push(message.seq);
				}
				await store.close();
				parentPort.postMessage(seqs);
			})();
		`;
		const workers: Worker[] = [];
		try {
			await new SqliteMessageStore(file).close(); // create the schema before the race
			const runs = ['w1', 'w2'].map((name) => {
				const worker = new Worker(code, { eval: true, workerData: { moduleUrl, file, start, name, count: 100 } });
				workers.push(worker);
				const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
				const done = new Promise<number[]>((resolve, reject) => {
					worker.on('message', (m: unknown) => {
						if (Array.isArray(m)) resolve(m as number[]);
					});
					worker.once('error', reject);
					worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
				});
				return { ready, done };
			});
			await Promise.all(runs.map((r) => r.ready));
			Atomics.store(start, 0, 1);
			Atomics.notify(start, 0);
			const [a, b] = await Promise.all(runs.map((r) => r.done));
			assert.ok(a && b);
			assert.deepEqual(
				[...a, ...b].sort((x, y) => x - y),
				Array.from({ length: 200 }, (_, i) => i + 1),
			);
			for (const seqs of [a, b]) {
				assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'each writer sees its own seqs increase');
			}
			const store = new SqliteMessageStore(file);
			assert.equal(await store.lastSeq('shared'), 200);
			assert.equal((await store.after('shared', 'x', 0, 500)).length, 200);
			await store.close();
		} finally {
			await Promise.all(workers.map((worker) => worker.terminate()));
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
