/** The built client's router: source maps (the client's sources) only in dev mode. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
after(() => rmSync(dist, { recursive: true, force: true }));

async function statuses(sourceMaps: boolean): Promise<Record<string, number>> {
	const app = express().use(clientRouter(dist, { sourceMaps }));
	const server = app.listen(0, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	try {
		const out: Record<string, number> = {};
		for (const p of ['/app.js', '/app.js.map', '/r/standup']) out[p] = (await fetch(`${url}${p}`)).status;
		return out;
	} finally {
		server.close();
	}
}

it('serves source maps in dev mode only', async () => {
	assert.deepEqual(await statuses(false), { '/app.js': 200, '/app.js.map': 404, '/r/standup': 200 });
	assert.deepEqual(await statuses(true), { '/app.js': 200, '/app.js.map': 200, '/r/standup': 200 });
});
