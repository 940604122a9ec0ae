/**
 * The layering rules the code relies on, checked on the source: the SFU imports nothing
 * from signaling/, the browser client only the shared protocol from the server side, and
 * production folders import no test-only code (test/ holds it; the image ships neither).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
	const out: string[] = [];
	for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
		const rel = path.join(dir, entry.name);
		if (entry.isDirectory()) {
			if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sources(rel));
		} else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts')) out.push(rel);
	}
	return out;
}

/** The files a source file imports, as paths from the repository root. */
function imports(file: string): string[] {
	const text = readFileSync(path.join(root, file), 'utf8');
	return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1]!)));
}

test('sfu/ imports nothing from signaling/', () => {
	const offending = sources('sfu').flatMap((f) => imports(f).filter((i) => i.startsWith('signaling/')).map((i) => `${f} → ${i}`));
	assert.deepEqual(offending, []);
});

test('the browser client imports only the shared protocol from the server side', () => {
	const offending = sources('client/src').flatMap((f) =>
		imports(f)
			.filter((i) => !i.startsWith('client/') && !i.startsWith('signaling/protocol/'))
			.map((i) => `${f} → ${i}`),
	);
	assert.deepEqual(offending, []);
});

test('production code imports no test-only code', () => {
	const production = ['config', 'sfu', 'signaling', 'client/src'].flatMap(sources);
	const offending = production.flatMap((f) => imports(f).filter((i) => i.startsWith('test/')).map((i) => `${f} → ${i}`));
	assert.deepEqual(offending, []);
	assert.ok(production.length > 50, 'the walk found the sources');
});
