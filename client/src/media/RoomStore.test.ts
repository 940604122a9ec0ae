/**
 * RoomStore.hold(): a burst of changes (a moved media session starting) reaches React as
 * one change when released, and none if nothing changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomStore } from './RoomStore.ts';

test('changes while held reach the subscribers once, on release, with the latest snapshot', () => {
	let value = 0;
	const store = new RoomStore(() => value);
	const seen: number[] = [];
	store.subscribe(() => seen.push(store.getSnapshot()));
	const release = store.hold();
	value = 1;
	store.changed();
	value = 2;
	store.changed();
	assert.deepEqual(seen, [], 'nothing while held');
	assert.equal(store.getSnapshot(), 0, 'the snapshot is not rebuilt while held');
	release();
	release();
	assert.deepEqual(seen, [2], 'one change on release (released twice: still one)');
	store.changed();
	assert.deepEqual(seen, [2, 2], 'not held any more');
});

test('nested holds release on the last one; a hold without changes tells nobody', () => {
	const store = new RoomStore(() => 0);
	let calls = 0;
	store.subscribe(() => calls++);
	store.hold()();
	assert.equal(calls, 0);
	const outer = store.hold();
	const inner = store.hold();
	store.changed();
	inner();
	assert.equal(calls, 0, 'still held by the outer hold');
	outer();
	assert.equal(calls, 1);
});

test('a notice stays for its time from when the page shows it, not from when it was raised', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const store = new RoomStore(() => 0);
	store.showNotice('raised during the join');
	t.mock.timers.tick(60_000);
	assert.equal(store.notice, 'raised during the join', 'not shown yet: still there');
	store.noticeShown();
	t.mock.timers.tick(5_000);
	assert.equal(store.notice, 'raised during the join');
	store.noticeShown(); // shown again (a re-render): its time does not start over
	t.mock.timers.tick(1_500);
	assert.equal(store.notice, null, 'gone 6 s after it was first shown');
	store.showNotice('first');
	store.noticeShown();
	t.mock.timers.tick(4_000);
	store.showNotice('second'); // a new notice on screen already: a full time of its own
	t.mock.timers.tick(4_000);
	assert.equal(store.notice, 'second');
	t.mock.timers.tick(2_500);
	assert.equal(store.notice, null);
});
