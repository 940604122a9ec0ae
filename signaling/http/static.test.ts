/** The built client's router: source maps (the client's sources) only in dev mode. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import express from 'express';
import { clientRouter } from './static.ts';

let dist: string;
before(() => {
	dist = mkdtempSync(path.join(os.tmpdir(), 'parley-dist-'));
	writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Parley</title>');
	writeFileSync(path.join(dist, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
	writeFileSync(path.join(dist, 'app.js.map'), '{"version":3,"sources":["app.ts"],"mappings":""}');
	mkdirSync(path.join(dist, 'assets'));
	writeFileSync(path.join(dist, 'assets', 'vendor-Ab12.js'), 'export {};\n');
});
after(() => rmSync(dist, { recursive: true, force: true }));

async function serve<T>(sourceMaps: boolean, fn: (url: string) => Promise<T>): Promise<T> {
	const app = express().use(clientRouter(dist, { sourceMaps }));
	const server = app.listen(0, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	try {
		return await fn(url);
	} finally {
		server.close();
	}
}

function statuses(sourceMaps: boolean): Promise<Record<string, number>> {
	return serve(sourceMaps, async (url) => {
		const out: Record<string, number> = {};
		for (const p of ['/app.js', '/app.js.map', '/r/standup']) out[p] = (await fetch(`${url}${p}`)).status;
		return out;
	});
}

it('serves source maps in dev mode only', async () => {
	assert.deepEqual(await statuses(false), { '/app.js': 200, '/app.js.map': 404, '/r/standup': 200 });
	assert.deepEqual(await statuses(true), { '/app.js': 200, '/app.js.map': 200, '/r/standup': 200 });
});

it('hashed build assets are cached for a year; the page and unhashed files are revalidated; a missing asset is a 404', async () => {
	const got = await serve(false, async (url) => {
		const cache = async (p: string) => {
			const res = await fetch(`${url}${p}`);
			return `${res.status} ${res.headers.get('cache-control') ?? ''}`;
		};
		return { asset: await cache('/assets/vendor-Ab12.js'), missing: await cache('/assets/index-Gone.js'), other: await cache('/app.js'), page: await cache('/r/standup') };
	});
	assert.deepEqual(got, {
		asset: '200 public, max-age=31536000, immutable',
		missing: '404 ',
		other: '200 public, max-age=3600',
		page: '200 no-cache',
	});
});
