import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAgo, formatSize, typingLine } from './format.ts';
import { linkify, safeHref } from './linkify.ts';
import { receiptView } from './receipts.ts';
import { peekToken } from '../lib/route.ts';
import { uploadType } from './upload.ts';

test('linkify: http and https URLs become links, the rest stays text', () => {
	assert.deepEqual(linkify('see https://example.com/a?b=1. ok'), [
		{ kind: 'text', text: 'see ' },
		{ kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
		{ kind: 'text', text: '. ok' },
	]);
	assert.deepEqual(linkify('javascript:alert(1) data:text/html,<b>x</b> file:///etc/passwd'), [
		{ kind: 'text', text: 'javascript:alert(1) data:text/html,<b>x</b> file:///etc/passwd' },
	]);
	assert.deepEqual(linkify('<img src=x onerror=alert(1)>'), [{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
	assert.deepEqual(
		linkify('(https://en.wikipedia.org/wiki/Foo_(bar))').map((p) => p.text),
		['(', 'https://en.wikipedia.org/wiki/Foo_(bar)', ')'],
	);
	assert.deepEqual(
		linkify('a http://x.test/"onmouseover="alert(1) b').filter((p) => p.kind === 'link').map((p) => p.kind === 'link' && p.href),
		['http://x.test/'],
	);
	assert.equal(linkify('').length, 0);
	assert.equal(safeHref('https://'), null);
	assert.equal(safeHref('HTTPS://Example.COM'), 'https://example.com/');
});

test('receipts: sent, delivered to all current others, read by all', () => {
	const mine = { from: 'me', to: null };
	assert.equal(receiptView(mine, undefined, ['a', 'b']).state, 'sent');
	assert.equal(receiptView(mine, undefined, []).state, 'sent');
	const some = receiptView(mine, { seq: 1, deliveredTo: ['a'], readBy: [] }, ['a', 'b']);
	assert.deepEqual([some.state, some.title], ['sent', 'delivered to 1 of 2']);
	const all = receiptView(mine, { seq: 1, deliveredTo: ['a', 'b', 'gone'], readBy: ['b'] }, ['a', 'b']);
	assert.deepEqual([all.state, all.title], ['delivered', 'delivered to 2 of 2, read by 1']);
	// Reading implies delivery.
	const read = receiptView(mine, { seq: 1, deliveredTo: [], readBy: ['a', 'b'] }, ['a', 'b']);
	assert.deepEqual([read.state, read.delivered, read.read], ['read', 2, 2]);
	// A direct message is for its recipient only.
	const dm = receiptView({ from: 'me', to: 'b' }, { seq: 1, deliveredTo: ['b'], readBy: [] }, ['a', 'b']);
	assert.deepEqual([dm.state, dm.title], ['delivered', 'delivered to 1 of 1']);
});

test('format helpers', () => {
	assert.equal(formatSize(512), '512 B');
	assert.equal(formatSize(1536), '1.5 KB');
	assert.equal(formatSize(25 * 1024 * 1024), '25 MB');
	assert.equal(formatAgo(1000, 20_000), 'just now');
	assert.equal(formatAgo(0, 5 * 60_000), '5 min ago');
	assert.equal(typingLine([]), '');
	assert.equal(typingLine(['Ann']), 'Ann is typing…');
	assert.equal(typingLine(['Ann', 'Bob']), 'Ann and Bob are typing…');
	assert.equal(typingLine(['Ann', 'Bob', 'Cy']), 'Several people are typing…');
});

test('upload type: from the extension for allowed types, else what the browser says', () => {
	assert.equal(uploadType('notes.md', ''), 'text/markdown');
	assert.equal(uploadType('data.CSV', 'application/vnd.ms-excel'), 'text/csv');
	assert.equal(uploadType('a.txt', 'text/plain'), 'text/plain');
	assert.equal(uploadType('tool.exe', 'application/x-msdownload'), 'application/x-msdownload');
	assert.equal(uploadType('noext', ''), 'application/octet-stream');
});

test('token subject', () => {
	const payload = Buffer.from(JSON.stringify({ sub: 'u-1', room: 'r' })).toString('base64url');
	assert.equal(peekToken(`h.${payload}.s`).sub, 'u-1');
	assert.equal(peekToken('garbage').sub, undefined);
});
