/**
 * The typing signal on its own, with mocked time: on at the first key and repeated while
 * typing goes on, off when idle or on stop; a refused "on" (rate limit) is sent again at a
 * key a second later instead of never during a sentence.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { TYPING_IDLE_MS, TYPING_REFRESH_MS, TYPING_RETRY_MS, TypingSignal } from './TypingSignal.ts';

/** A signal whose sends are recorded and answered with `accept()`'s value. */
function recorded(t: TestContext, accept: () => boolean = () => true) {
	t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
	const sent: { typing: boolean; to: string | null; at: number }[] = [];
	const signal = new TypingSignal(async (typing, to) => {
		sent.push({ typing, to, at: Date.now() });
		return accept();
	});
	/** Keys every `everyMs` for `forMs` (each advances mocked time, then lets the answers settle). */
	const type = async (forMs: number, everyMs = 150, to: string | null = null): Promise<void> => {
		for (let elapsed = 0; elapsed < forMs; elapsed += everyMs) {
			signal.keystroke(to);
			await Promise.resolve();
			await Promise.resolve();
			t.mock.timers.tick(everyMs);
		}
	};
	return { signal, sent, type };
}

test('on at the first key, repeated while typing goes on, off after the idle time', async (t) => {
	const { sent, type } = recorded(t);
	await type(TYPING_REFRESH_MS + 1000);
	assert.deepEqual(
		sent.map((s) => s.typing),
		[true, true],
		'one "on", and one repeat after the refresh period',
	);
	t.mock.timers.tick(TYPING_IDLE_MS);
	assert.deepEqual(sent.at(-1), { typing: false, to: null, at: sent.at(-1)!.at });
	assert.equal(sent.length, 3);
});

test('a refused "on" is sent again at a key a second later, while the person still types', async (t) => {
	let refuse = true;
	const { sent, type } = recorded(t, () => !refuse);
	await type(500);
	assert.equal(sent.length, 1, 'the first key sent "on" (refused)');
	refuse = false;
	await type(3000);
	const ons = sent.filter((s) => s.typing);
	assert.equal(ons.length, 2, `sent again once accepted: ${JSON.stringify(sent)}`);
	assert.ok(ons[1]!.at - ons[0]!.at >= TYPING_RETRY_MS && ons[1]!.at - ons[0]!.at < TYPING_REFRESH_MS, 'a second later, not a refresh period later');
});

test('stop sends "off" once; a new recipient stops the old signal first', async (t) => {
	const { signal, sent } = recorded(t);
	signal.stop();
	assert.equal(sent.length, 0, 'nothing to stop');
	signal.keystroke(null);
	signal.keystroke('bob');
	assert.deepEqual(
		sent.map((s) => [s.typing, s.to]),
		[
			[true, null],
			[false, null],
			[true, 'bob'],
		],
	);
	signal.stop();
	signal.stop();
	assert.deepEqual(sent.at(-1)!.typing, false);
	assert.equal(sent.length, 4);
	t.mock.timers.tick(TYPING_IDLE_MS * 2);
	assert.equal(sent.length, 4, 'no idle "off" after a stop');
});
