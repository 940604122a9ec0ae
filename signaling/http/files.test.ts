/**
 * Integration: chat attachments over real HTTP. Until server.ts mounts filesRouter, the
 * tests mount it on their own express app (same order as server.ts would: pino-http, the
 * files router, the error handler) with a config from loadConfig() and a temp data dir.
 * Requests go through node:http so paths are sent verbatim (no URL normalisation).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { loadConfig, type Config } from '../../config/index.ts';
import { mintToken, type MintOptions } from '../auth/tokens.ts';
import { FileStore } from '../files/FileStore.ts';
import type { FileUploadResponse } from '../protocol/index.ts';
import { filesRouter } from './files.ts';
import { errorHandler } from './routes.ts';

const MAX_BYTES = 4096;

interface FilesTestServer {
	config: Config;
	url: string;
	dataDir: string;
	token(options: Partial<MintOptions> & { room: string }): string;
	close(): Promise<void>;
}

async function startFilesServer(): Promise<FilesTestServer> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-files-'));
	const config = loadConfig({
		env: {
			PARLEY_AUTH_JWT_SECRETS: 'test-secret-0123456789abcdef0123456789abcdef',
			PARLEY_DATA_DIR: dataDir,
			PARLEY_FILES_MAX_BYTES: String(MAX_BYTES),
		},
	});
	const logger = pino({ level: process.env.PARLEY_TEST_LOG_LEVEL ?? 'silent' });
	const app = express();
	app.use(pinoHttp({ logger }));
	app.use(filesRouter({ config, store: new FileStore({ dataDir: config.data.dir, logger }), logger }));
	app.use(errorHandler);
	const server: Server = createServer(app);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		config,
		url: `http://127.0.0.1:${port}`,
		dataDir,
		token: (options) => mintToken(config.auth, { name: 'Tester', ...options }).token,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

interface Answer {
	status: number;
	headers: IncomingHttpHeaders;
	body: Buffer;
	json(): { error?: { code: string; message: string } } & Partial<FileUploadResponse>;
}

/**
 * One HTTP request with the path sent as given. `body` as an array of buffers is sent
 * chunked (no Content-Length). Errors after the answer arrived (the server closing the
 * connection on a refused upload) are ignored.
 */
function send(
	base: string,
	options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | Buffer[] },
): Promise<Answer> {
	const { hostname, port } = new URL(base);
	return new Promise((resolve, reject) => {
		let answered = false;
		const req = httpRequest({ hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers, agent: false }, (res) => {
			answered = true;
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('error', reject);
			res.on('end', () => {
				const body = Buffer.concat(chunks);
				resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
			});
		});
		req.on('error', (error) => {
			if (!answered) reject(error);
		});
		const { body } = options;
		if (Array.isArray(body)) {
			for (const chunk of body) req.write(chunk);
			req.end();
		} else req.end(body);
	});
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2000)]);

function upload(
	room: string,
	token: string | null,
	body: Buffer | Buffer[],
	{ name = 'file.bin', type = 'image/png', headers = {} }: { name?: string | null; type?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
	return send(t.url, {
		method: 'POST',
		path: `/api/rooms/${room}/files`,
		headers: {
			...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
			...(type !== null ? { 'Content-Type': type } : {}),
			...(name !== null ? { 'X-File-Name': encodeURIComponent(name) } : {}),
			...headers,
		},
		body,
	});
}

function download(room: string, fileId: string, token: string | null, via: 'header' | 'query' = 'header', method = 'GET'): Promise<Answer> {
	const query = token !== null && via === 'query' ? `?token=${encodeURIComponent(token)}` : '';
	return send(t.url, {
		method,
		path: `/api/rooms/${room}/files/${fileId}${query}`,
		headers: token !== null && via === 'header' ? { Authorization: `Bearer ${token}` } : {},
	});
}

/** Everything under <dataDir>/files/<room> (missing directory: nothing). */
function filesOnDisk(room: string): string[] {
	try {
		return fs.readdirSync(path.join(t.dataDir, 'files', room));
	} catch {
		return [];
	}
}

let t: FilesTestServer;
let tokenA: string;
let tokenB: string;
before(async () => {
	t = await startFilesServer();
	tokenA = t.token({ room: 'room-a', identity: 'alice', name: 'Alice' });
	tokenB = t.token({ room: 'room-b', identity: 'bob', name: 'Bob' });
});
after(async () => {
	await t.close();
});

describe('upload and download', () => {
	it('round-trips the bytes with safe headers', async () => {
		const name = 'Screenshot "1" – ünïcødé (final)*.png';
		const up = await upload('room-a', tokenA, PNG, { name });
		assert.equal(up.status, 201, up.body.toString());
		const meta = up.json();
		assert.match(meta.fileId ?? '', /^[A-Za-z0-9_-]{22,64}$/);
		assert.deepEqual(meta, { fileId: meta.fileId, name, size: PNG.length, mime: 'image/png' });

		for (const via of ['header', 'query'] as const) {
			const down = await download('room-a', meta.fileId!, tokenA, via);
			assert.equal(down.status, 200, via);
			assert.ok(down.body.equals(PNG), `${via}: bytes differ`);
			assert.equal(down.headers['content-type'], 'image/png');
			assert.equal(down.headers['content-length'], String(PNG.length));
			assert.equal(down.headers['x-content-type-options'], 'nosniff');
			assert.equal(down.headers['content-security-policy'], "sandbox; default-src 'none'");
			assert.equal(down.headers['cache-control'], 'private, no-store');
			const disposition = down.headers['content-disposition'] ?? '';
			assert.match(disposition, /^attachment; /);
			const encoded = /filename\*=UTF-8''([^;\s]+)/.exec(disposition)?.[1];
			assert.ok(encoded, disposition);
			assert.equal(decodeURIComponent(encoded), name);
			assert.match(disposition, /filename="[\x20-\x7e]*"/, 'the ASCII fallback is printable ASCII');
		}

		const head = await download('room-a', meta.fileId!, tokenA, 'header', 'HEAD');
		assert.equal(head.status, 200);
		assert.equal(head.headers['content-length'], String(PNG.length));
		assert.equal(head.body.length, 0);

		// On disk: the content and its metadata sidecar, nothing else.
		const dir = path.join(t.dataDir, 'files', 'room-a');
		assert.ok(fs.readFileSync(path.join(dir, meta.fileId!)).equals(PNG));
		const sidecar = JSON.parse(fs.readFileSync(path.join(dir, `${meta.fileId}.json`), 'utf8'));
		assert.equal(sidecar.uploader, 'alice');
		assert.equal(sidecar.room, 'room-a');
		assert.equal(typeof sidecar.ts, 'number');
		assert.ok(!filesOnDisk('room-a').some((f) => f.endsWith('.part')), 'no temporary files left');
	});

	it('takes chunked bodies without Content-Length and drops MIME parameters', async () => {
		const text = Buffer.from('hello\nwörld\n', 'utf8');
		const up = await upload('room-a', tokenA, [text.subarray(0, 3), text.subarray(3)], { name: 'notes.txt', type: 'text/plain; charset=utf-8' });
		assert.equal(up.status, 201, up.body.toString());
		const meta = up.json();
		assert.equal(meta.mime, 'text/plain');
		assert.equal(meta.size, text.length);
		const down = await download('room-a', meta.fileId!, tokenA);
		assert.ok(down.body.equals(text));
		assert.equal(down.headers['content-type'], 'text/plain');
	});

	it('accepts exactly maxBytes', async () => {
		const body = Buffer.concat([PNG.subarray(0, 8), randomBytes(MAX_BYTES - 8)]);
		const up = await upload('room-a', tokenA, body, { name: 'max.png' });
		assert.equal(up.status, 201, up.body.toString());
		assert.equal(up.json().size, MAX_BYTES);
	});
});

describe('authorization', () => {
	it('answers 401 without a token, with a garbage token and with a non-Bearer header', async () => {
		const noToken = await upload('room-a', null, PNG);
		assert.equal(noToken.status, 401);
		assert.equal(noToken.json().error?.code, 'unauthorized');
		const garbage = await upload('room-a', 'not.a.jwt', PNG);
		assert.equal(garbage.status, 401);
		assert.equal(garbage.json().error?.code, 'unauthorized');
		const basic = await upload('room-a', null, PNG, { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } });
		assert.equal(basic.status, 401);

		const up = await upload('room-a', tokenA, PNG);
		const fileId = up.json().fileId!;
		for (const answer of [
			await download('room-a', fileId, null),
			await download('room-a', fileId, 'garbage', 'header'),
			await download('room-a', fileId, 'garbage', 'query'),
			await send(t.url, { path: `/api/rooms/room-a/files/${fileId}?token=a&token=b` }),
		]) {
			assert.equal(answer.status, 401);
			assert.equal(answer.json().error?.code, 'unauthorized');
			assert.equal(answer.headers['content-disposition'], undefined);
		}
	});

	it('refuses uploads to another room (403) and without the chat grant (403)', async () => {
		const before = filesOnDisk('room-b').length;
		const other = await upload('room-b', tokenA, PNG);
		assert.equal(other.status, 403);
		assert.equal(other.json().error?.code, 'forbidden');
		const muted = await upload('room-a', t.token({ room: 'room-a', identity: 'mute', grants: { chat: false } }), PNG);
		assert.equal(muted.status, 403);
		assert.equal(muted.json().error?.code, 'forbidden');
		assert.equal(filesOnDisk('room-b').length, before);
	});

	it("keeps room A's files from room B: 404 via B's path, 403 via A's path", async () => {
		const up = await upload('room-a', tokenA, PNG);
		const fileId = up.json().fileId!;
		const viaB = await download('room-b', fileId, tokenB);
		assert.equal(viaB.status, 404);
		assert.equal(viaB.json().error?.code, 'not_found');
		const viaA = await download('room-a', fileId, tokenB);
		assert.equal(viaA.status, 403);
		assert.equal(viaA.json().error?.code, 'forbidden');
		const viaAQuery = await download('room-a', fileId, tokenB, 'query');
		assert.equal(viaAQuery.status, 403);
	});

	it('answers 404 for an unknown file id', async () => {
		const answer = await download('room-a', 'AAAAAAAAAAAAAAAAAAAAAA', tokenA);
		assert.equal(answer.status, 404);
		assert.equal(answer.json().error?.code, 'not_found');
	});
});

describe('refused uploads', () => {
	it('answers 413 for a Content-Length over the limit, before reading, and leaves nothing on disk', async () => {
		const before = filesOnDisk('room-c');
		const token = t.token({ room: 'room-c', identity: 'carol' });
		const body = Buffer.concat([PNG.subarray(0, 8), randomBytes(MAX_BYTES + 1 - 8)]);
		const answer = await upload('room-c', token, body, { name: 'big.png' });
		assert.equal(answer.status, 413);
		assert.equal(answer.json().error?.code, 'bad_request');
		assert.match(answer.json().error?.message ?? '', /at most 4096 bytes/);
		assert.deepEqual(filesOnDisk('room-c'), before);
	});

	it('answers 413 when a chunked body grows over the limit, and deletes the partial file', async () => {
		const token = t.token({ room: 'room-c', identity: 'carol' });
		const chunks = [PNG.subarray(0, 1000), randomBytes(1500), randomBytes(1500), randomBytes(1500), randomBytes(1500)];
		const answer = await upload('room-c', token, chunks, { name: 'big.png' });
		assert.equal(answer.status, 413);
		assert.equal(answer.json().error?.code, 'bad_request');
		// The temp file is removed before the answer is sent.
		assert.deepEqual(filesOnDisk('room-c'), []);
	});

	it('answers 415 for a declared image/png that is not a PNG', async () => {
		const token = t.token({ room: 'room-d', identity: 'dave' });
		const fake = await upload('room-d', token, Buffer.from('<html><script>alert(1)</script></html>'), { name: 'x.png', type: 'image/png' });
		assert.equal(fake.status, 415);
		assert.equal(fake.json().error?.code, 'bad_request');
		assert.match(fake.json().error?.message ?? '', /not image\/png/);
		const wrongImage = await upload('room-d', token, PNG, { name: 'x.jpg', type: 'image/jpeg' });
		assert.equal(wrongImage.status, 415);
		const notZip = await upload('room-d', token, Buffer.from('MZ\x90\x00 not a docx'), {
			name: 'report.docx',
			type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
		});
		assert.equal(notZip.status, 415);
		const empty = await upload('room-d', token, Buffer.alloc(0), { name: 'empty.png' });
		assert.equal(empty.status, 415);
		assert.deepEqual(filesOnDisk('room-d'), []);
	});

	it('answers 415 for types outside the allowlist and for no type at all', async () => {
		const token = t.token({ room: 'room-d', identity: 'dave' });
		for (const type of ['application/x-msdownload', 'text/html', 'image/svg+xml', 'application/octet-stream', null]) {
			const answer = await upload('room-d', token, Buffer.from('MZ\x90\x00'), { name: 'setup.exe', type });
			assert.equal(answer.status, 415, String(type));
			assert.equal(answer.json().error?.code, 'bad_request');
		}
		assert.deepEqual(filesOnDisk('room-d'), []);
	});

	it('answers 400 for a missing, empty, malformed or dot-only file name', async () => {
		const token = t.token({ room: 'room-d', identity: 'dave' });
		const cases: [string, Record<string, string>][] = [
			['missing', {}],
			['malformed encoding', { 'X-File-Name': '%E0%A4%A' }],
			['dot-dot', { 'X-File-Name': encodeURIComponent('..') }],
			['only separators', { 'X-File-Name': encodeURIComponent('../../') }],
			['only controls', { 'X-File-Name': encodeURIComponent('\u0000\u202e\n') }],
		];
		for (const [label, headers] of cases) {
			const answer = await upload('room-d', token, PNG, { name: null, headers });
			assert.equal(answer.status, 400, label);
			assert.equal(answer.json().error?.code, 'bad_request', label);
		}
		assert.deepEqual(filesOnDisk('room-d'), []);
	});
});

describe('path traversal', () => {
	it('stores a traversal name as its last segment, inside the room directory', async () => {
		const up = await upload('room-a', tokenA, Buffer.from('x'), { name: '../../etc/passwd', type: 'text/plain' });
		assert.equal(up.status, 201);
		assert.equal(up.json().name, 'passwd');
		const win = await upload('room-a', tokenA, Buffer.from('x'), { name: 'C:\\Users\\me\\..\\notes.txt', type: 'text/plain' });
		assert.equal(win.json().name, 'notes.txt');
		assert.ok(filesOnDisk('room-a').includes(up.json().fileId!));
		assert.ok(!fs.existsSync(path.join(t.dataDir, 'etc')));
		const down = await download('room-a', up.json().fileId!, tokenA);
		assert.match(down.headers['content-disposition'] ?? '', /filename\*=UTF-8''passwd$/);
	});

	it('never serves anything outside the room directory', async () => {
		const secret = 'TOP-SECRET-CONTENT';
		fs.writeFileSync(path.join(t.dataDir, 'secret'), secret);
		fs.writeFileSync(path.join(t.dataDir, 'files', 'secret'), secret);
		fs.writeFileSync(path.join(t.dataDir, 'files', 'secret.json'), JSON.stringify({ fileId: 'secret', room: 'room-a' }));
		const up = await upload('room-a', tokenA, PNG);
		const fileId = up.json().fileId!;
		const ids = [
			'..%2F..%2Fetc%2Fpasswd',
			'..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
			'%2E%2E%2Fsecret',
			'..%2Fsecret',
			'..%5Csecret',
			'%2Fetc%2Fpasswd',
			`${fileId}.json`,
			`${fileId}%00`,
			'.',
			'%2E%2E',
		];
		for (const id of ids) {
			for (const via of ['header', 'query'] as const) {
				const answer = await download('room-a', id, tokenA, via);
				assert.ok(answer.status === 404 || answer.status === 400, `${id} via ${via}: ${answer.status}`);
				assert.ok(!answer.body.includes(secret), `${id} via ${via} leaked`);
				assert.ok(!answer.body.includes('root:'), `${id} via ${via} leaked /etc/passwd`);
				assert.ok(!answer.body.includes(PNG.subarray(8, 40)), `${id} via ${via} served a file`);
			}
		}
		// Raw (unencoded) dot segments are not normalised by the server: they match no route.
		for (const raw of [`/api/rooms/room-a/files/../../../../etc/passwd`, `/api/rooms/room-a/files/../../secret`, `/api/rooms/room-a/files/..`]) {
			const answer = await send(t.url, { path: raw, headers: { Authorization: `Bearer ${tokenA}` } });
			assert.equal(answer.status, 404, raw);
			assert.ok(!answer.body.includes(secret) && !answer.body.includes('root:'), raw);
		}
		// A room segment with traversal never equals the token's room.
		for (const room of ['..', '..%2F..', '%2E%2E', 'room-a%2F..%2F..']) {
			const answer = await download(room, 'secret', tokenA);
			assert.ok(answer.status === 403 || answer.status === 404, `${room}: ${answer.status}`);
			assert.ok(!answer.body.includes(secret), room);
		}
	});
});
