import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortcutFor } from './shortcuts.ts';

const press = (key: string, more: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; editable: boolean }> = {}) =>
	shortcutFor({ key, ctrlKey: false, metaKey: false, altKey: false, editable: false, ...more });

test('letters act outside text fields; Ctrl+D/E act everywhere', () => {
	assert.equal(press('m'), 'mic');
	assert.equal(press('M'), 'mic');
	assert.equal(press('v'), 'camera');
	assert.equal(press('c'), 'chat');
	assert.equal(press('?'), 'help');
	assert.equal(press('m', { editable: true }), null, 'typing an m in the chat does not mute');
	assert.equal(press('d', { ctrlKey: true, editable: true }), 'mic');
	assert.equal(press('e', { ctrlKey: true }), 'camera');
	assert.equal(press('c', { ctrlKey: true }), null, 'Ctrl+C stays copy');
	assert.equal(press('m', { metaKey: true }), null);
	assert.equal(press('x'), null);
});
