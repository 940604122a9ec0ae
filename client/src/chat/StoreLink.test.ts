/** The store's availability as the chat sees it: `unavailable` answers back off (growing, capped) and say so once; an answer says it is back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreLink } from './StoreLink.ts';

const silentSocket = { timeout: () => ({ emitWithAck: () => new Promise(() => {}) }) };

test('unavailable: backs off exponentially up to the cap and is told once; an answer resets both', async (t) => {
	// The waits as asked of setTimeout (run at once), with the jitter at its top (the full delay).
	const waits: number[] = [];
	t.mock.method(globalThis, 'setTimeout', (fn: () => void, ms: number) => {
		waits.push(ms);
		fn();
	});
	t.mock.method(Math, 'random', () => 1);
	let changes = 0;
	const link = new StoreLink(silentSocket, { ackTimeoutMs: 1000, retryDelayMs: 10, maxRetryDelayMs: 80 }, () => changes++);
	assert.equal(link.unavailable, false);
	for (let i = 0; i < 6; i++) await link.backoff('unavailable');
	assert.deepEqual(waits, [10, 20, 40, 80, 80, 80]);
	assert.equal(link.unavailable, true);
	assert.equal(changes, 1, 'told once, not on every retry');
	link.answered();
	assert.equal(link.unavailable, false);
	assert.equal(changes, 2);
	await link.backoff('unavailable');
	await link.backoff('rate_limited');
	assert.deepEqual(waits.slice(6), [10, 10], 'from the first step again; anything else waits retryDelayMs');
	t.mock.method(Math, 'random', () => 0);
	await link.backoff('unavailable');
	assert.equal(waits.at(-1), 10, 'jitter: at least half the delay (20 ms here)');
});

test('final errors are those a retry cannot fix', () => {
	for (const code of ['bad_request', 'forbidden', 'not_found', 'unknown_event', 'unauthorized']) assert.equal(StoreLink.isFinal(code), true, code);
	for (const code of ['unavailable', 'rate_limited', 'timeout', 'internal']) assert.equal(StoreLink.isFinal(code), false, code);
});
