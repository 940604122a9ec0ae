/** Unit: FileStore on a temp directory, the type allowlist, sniffing and name sanitising. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FileError, FileStore, isValidFileId, newFileId } from './FileStore.ts';
import { FILE_NAME_MAX, matchesSignature, normalizeMime, sanitizeFileName } from './types.ts';

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let dataDir: string;
let store: FileStore;
before(() => {
	dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-filestore-'));
	store = new FileStore({ dataDir, now: () => 1_700_000_000_000 });
});
after(() => {
	fs.rmSync(dataDir, { recursive: true, force: true });
});

function roomFiles(room: string): string[] {
	const dir = path.join(dataDir, 'files', room);
	return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<void> {
	await assert.rejects(promise, (error: unknown) => error instanceof FileError && error.reason === reason);
}

describe('sanitizeFileName', () => {
	it('keeps ordinary names, including non-ASCII ones', () => {
		assert.equal(sanitizeFileName('report.pdf'), 'report.pdf');
		assert.equal(sanitizeFileName('  Überblick – Q3 (final).xlsx '), 'Überblick – Q3 (final).xlsx');
		assert.equal(sanitizeFileName('.bashrc'), '.bashrc');
	});

	it('keeps only the last path segment', () => {
		assert.equal(sanitizeFileName('../../etc/passwd'), 'passwd');
		assert.equal(sanitizeFileName('C:\\Users\\me\\a.pdf'), 'a.pdf');
		assert.equal(sanitizeFileName('/abs/path/x.txt'), 'x.txt');
	});

	it('strips control and bidi characters', () => {
		assert.equal(sanitizeFileName('a\u0000b\nc\u007f\u0085.txt'), 'abc.txt');
		assert.equal(sanitizeFileName('invoice\u202Efdp.exe'), 'invoicefdp.exe');
	});

	it('refuses names with nothing left', () => {
		for (const name of ['', '   ', '.', '..', '../', 'a/..', '\u0000\u202e', '\\']) assert.equal(sanitizeFileName(name), null, JSON.stringify(name));
	});

	it(`cuts to ${FILE_NAME_MAX} UTF-16 units, keeping the extension and whole code points`, () => {
		const long = `${'a'.repeat(300)}.pdf`;
		const cut = sanitizeFileName(long)!;
		assert.equal(cut.length, FILE_NAME_MAX);
		assert.ok(cut.endsWith('.pdf'));
		const emoji = sanitizeFileName(`${'😀'.repeat(200)}.png`)!;
		assert.ok(emoji.length <= FILE_NAME_MAX);
		assert.ok(emoji.endsWith('.png'));
		assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(emoji), 'no lone high surrogate');
	});
});

describe('normalizeMime and matchesSignature', () => {
	it('normalises declared types and refuses anything off the allowlist', () => {
		assert.equal(normalizeMime('image/PNG'), 'image/png');
		assert.equal(normalizeMime('text/plain; charset=utf-8'), 'text/plain');
		assert.equal(normalizeMime('application/x-zip-compressed'), 'application/zip');
		assert.equal(normalizeMime('audio/x-wav'), 'audio/wav');
		assert.equal(normalizeMime('image/jpg'), 'image/jpeg');
		for (const bad of ['text/html', 'image/svg+xml', 'application/x-msdownload', 'application/octet-stream', 'application/javascript', '', undefined, null]) {
			assert.equal(normalizeMime(bad), null, String(bad));
		}
	});

	it('checks signatures where a type has one', () => {
		assert.ok(matchesSignature('image/png', Buffer.concat([PNG_HEAD, Buffer.alloc(8)])));
		assert.ok(!matchesSignature('image/png', Buffer.from('GIF89a')));
		assert.ok(matchesSignature('image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0])));
		assert.ok(matchesSignature('image/gif', Buffer.from('GIF87a....')));
		assert.ok(matchesSignature('image/webp', Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')));
		assert.ok(!matchesSignature('image/webp', Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1')));
		assert.ok(matchesSignature('application/pdf', Buffer.from('%PDF-1.7\n')));
		assert.ok(matchesSignature('application/zip', Buffer.from('PK\x05\x06', 'latin1')));
		const docx = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
		assert.ok(matchesSignature(docx, Buffer.from('PK\x03\x04\x14\x00', 'latin1')));
		assert.ok(!matchesSignature(docx, Buffer.from('PK\x05\x06', 'latin1')));
		assert.ok(!matchesSignature('image/png', Buffer.alloc(0)));
		// Types without a signature accept anything.
		assert.ok(matchesSignature('text/plain', Buffer.from('MZ')));
		assert.ok(matchesSignature('audio/mpeg', Buffer.alloc(0)));
	});
});

describe('FileStore', () => {
	it('saves, gets and describes a file', async () => {
		const content = Buffer.concat([PNG_HEAD, Buffer.from('rest of the image')]);
		// Bytes arrive one at a time: sniffing must wait for enough of them.
		const body = Readable.from([...content].map((b) => Buffer.from([b])));
		const meta = await store.save({ room: 'r1', uploader: 'alice', name: 'a/b.png', mime: 'image/png', body, maxBytes: 1000 });
		assert.ok(isValidFileId(meta.fileId));
		assert.equal(meta.fileId.length, 22);
		assert.deepEqual(meta, { fileId: meta.fileId, room: 'r1', name: 'b.png', size: content.length, mime: 'image/png', uploader: 'alice', ts: 1_700_000_000_000 });
		const got = await store.get('r1', meta.fileId);
		assert.ok(got);
		assert.equal(got.path, path.join(dataDir, 'files', 'r1', meta.fileId));
		assert.ok(path.isAbsolute(got.path));
		assert.ok(fs.readFileSync(got.path).equals(content));
		assert.deepEqual(await store.describe('r1', meta.fileId), { fileId: meta.fileId, name: 'b.png', size: content.length, mime: 'image/png' });
		assert.deepEqual(roomFiles('r1').sort(), [meta.fileId, `${meta.fileId}.json`].sort());
	});

	it("does not find another room's file, invalid ids or sidecars", async () => {
		const meta = await store.save({ room: 'r1', uploader: 'alice', name: 'x.txt', mime: 'text/plain', body: Readable.from([Buffer.from('hi')]), maxBytes: 100 });
		assert.equal(await store.get('r2', meta.fileId), null);
		assert.equal(await store.describe('r2', meta.fileId), null);
		for (const [room, id] of [
			['r1', `${meta.fileId}.json`],
			['r1', '../r1/' + meta.fileId],
			['..', meta.fileId],
			['r1/..', meta.fileId],
			['', meta.fileId],
			['r1', ''],
			['r1', 'short'],
			['r1', 'x'.repeat(65)],
		]) {
			assert.equal(await store.get(room!, id!), null, `${room} ${id}`);
		}
	});

	it('treats a broken sidecar or a missing content file as missing', async () => {
		const a = await store.save({ room: 'r3', uploader: 'alice', name: 'a.txt', mime: 'text/plain', body: Readable.from([Buffer.from('a')]), maxBytes: 100 });
		fs.writeFileSync(path.join(dataDir, 'files', 'r3', `${a.fileId}.json`), '{not json');
		assert.equal(await store.get('r3', a.fileId), null);
		const b = await store.save({ room: 'r3', uploader: 'alice', name: 'b.txt', mime: 'text/plain', body: Readable.from([Buffer.from('b')]), maxBytes: 100 });
		fs.rmSync(path.join(dataDir, 'files', 'r3', b.fileId));
		assert.equal(await store.get('r3', b.fileId), null);
		const c = await store.save({ room: 'r3', uploader: 'alice', name: 'c.txt', mime: 'text/plain', body: Readable.from([Buffer.from('c')]), maxBytes: 100 });
		const sidecar = path.join(dataDir, 'files', 'r3', `${c.fileId}.json`);
		fs.writeFileSync(sidecar, JSON.stringify({ ...JSON.parse(fs.readFileSync(sidecar, 'utf8')), room: 'r4' }));
		assert.equal(await store.get('r3', c.fileId), null);
	});

	it('refuses too large, mismatched, unsupported and unnamed files, leaving nothing behind', async () => {
		const big = Readable.from([Buffer.alloc(60), Buffer.alloc(60)]);
		await rejectsWith(store.save({ room: 'r5', uploader: 'u', name: 'big.txt', mime: 'text/plain', body: big, maxBytes: 100 }), 'too_large');
		const fake = Readable.from([Buffer.from('<svg onload=alert(1)>')]);
		await rejectsWith(store.save({ room: 'r5', uploader: 'u', name: 'x.png', mime: 'image/png', body: fake, maxBytes: 100 }), 'type_mismatch');
		const exe = Readable.from([Buffer.from('MZ')]);
		await rejectsWith(store.save({ room: 'r5', uploader: 'u', name: 'x.exe', mime: 'application/x-msdownload', body: exe, maxBytes: 100 }), 'unsupported_type');
		await rejectsWith(store.save({ room: 'r5', uploader: 'u', name: '../', mime: 'text/plain', body: Readable.from([]), maxBytes: 100 }), 'bad_name');
		assert.deepEqual(roomFiles('r5'), []);
	});

	it('removes the partial file when the body fails', async () => {
		const body = new Readable({ read() {} });
		const saving = store.save({ room: 'r6', uploader: 'u', name: 'x.txt', mime: 'text/plain', body, maxBytes: 1000 });
		body.push(Buffer.from('partial'));
		setTimeout(() => body.destroy(new Error('client went away')), 20);
		await assert.rejects(saving, /client went away/);
		assert.deepEqual(roomFiles('r6'), []);
	});

	it('refuses invalid rooms and uploaders as programming errors', async () => {
		await assert.rejects(store.save({ room: '../x', uploader: 'u', name: 'a.txt', mime: 'text/plain', body: Readable.from([]), maxBytes: 10 }), TypeError);
		await assert.rejects(store.save({ room: 'r7', uploader: 'a/b', name: 'a.txt', mime: 'text/plain', body: Readable.from([]), maxBytes: 10 }), TypeError);
		assert.ok(!fs.existsSync(path.join(dataDir, 'x')));
	});

	it('makes distinct URL-safe ids', () => {
		const ids = new Set(Array.from({ length: 1000 }, newFileId));
		assert.equal(ids.size, 1000);
		for (const id of ids) assert.ok(isValidFileId(id), id);
	});
});
