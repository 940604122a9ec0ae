import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inboundVideoByTrack, MAX_RETRIES, STALL_MS, StallWatch, type InboundVideo, type WatchedVideo } from './StallWatch.ts';

const video = (id: string, due = true, producerId = `p-${id}`): WatchedVideo => ({ consumerId: id, producerId, trackId: `t-${id}`, due });
const frames = (entries: Record<string, number>): Map<string, InboundVideo> =>
	new Map(Object.entries(entries).map(([id, n]) => [`t-${id}`, { framesDecoded: n, packetsReceived: n * 3, bytesReceived: n * 1000 }]));

test('a due video that decodes nothing for STALL_MS is reported once; one that decodes is not', () => {
	const watch = new StallWatch();
	const videos = [video('a'), video('b')];
	assert.deepEqual(watch.check(videos, frames({}), 0), []);
	assert.deepEqual(watch.check(videos, frames({ b: 2 }), STALL_MS - 1), []);
	const stalls = watch.check(videos, frames({ b: 40 }), STALL_MS);
	assert.equal(stalls.length, 1);
	assert.equal(stalls[0]!.consumerId, 'a');
	assert.equal(stalls[0]!.waitedMs, STALL_MS);
	assert.equal(stalls[0]!.retry, 1);
	// Reported once: the caller makes it again under a new id.
	assert.deepEqual(watch.check(videos, frames({ b: 80 }), STALL_MS * 2), []);
});

test('a video that started and then froze is not a stall (loss is not fixed by consuming again)', () => {
	const watch = new StallWatch();
	watch.check([video('a')], frames({ a: 5 }), 0);
	assert.deepEqual(watch.check([video('a')], frames({ a: 5 }), STALL_MS * 3), []);
});

test('the clock runs only while frames are due (hidden tile, paused producer, not resumed)', () => {
	const watch = new StallWatch();
	watch.check([video('a', false)], frames({}), 0);
	assert.deepEqual(watch.check([video('a', false)], frames({}), STALL_MS * 2), []);
	watch.check([video('a', true)], frames({}), STALL_MS * 2);
	assert.deepEqual(watch.check([video('a', true)], frames({}), STALL_MS * 3 - 1), []);
	// Hidden again: the clock starts over when it is due again.
	watch.check([video('a', false)], frames({}), STALL_MS * 3);
	watch.check([video('a', true)], frames({}), STALL_MS * 3 + 10);
	assert.deepEqual(watch.check([video('a', true)], frames({}), STALL_MS * 4), []);
	assert.equal(watch.check([video('a', true)], frames({}), STALL_MS * 4 + 10).length, 1);
});

test('a producer is made again at most MAX_RETRIES times per session', () => {
	const watch = new StallWatch();
	let reported = 0;
	for (let i = 0; i < MAX_RETRIES + 3; i++) {
		const v = [video(`c${i}`, true, 'same-producer')];
		watch.check(v, frames({}), i * 10 * STALL_MS);
		reported += watch.check(v, frames({}), i * 10 * STALL_MS + STALL_MS).length;
	}
	assert.equal(reported, MAX_RETRIES);
	watch.reset();
	watch.check([video('z', true, 'same-producer')], frames({}), 0);
	assert.equal(watch.check([video('z', true, 'same-producer')], frames({}), STALL_MS).length, 1);
});

test('inboundVideoByTrack reads the video inbound-rtp entries by track', () => {
	const entries: Record<string, unknown>[] = [
		{ type: 'inbound-rtp', kind: 'video', trackIdentifier: 'tv', framesDecoded: 7, packetsReceived: 20, bytesReceived: 9000 },
		{ type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'ta', packetsReceived: 50 },
		{ type: 'outbound-rtp', kind: 'video', trackIdentifier: 'tx', framesEncoded: 3 },
	];
	const report = { forEach: (fn: (e: Record<string, unknown>) => void) => entries.forEach(fn) } as unknown as RTCStatsReport;
	assert.deepEqual([...inboundVideoByTrack(report)], [['tv', { framesDecoded: 7, packetsReceived: 20, bytesReceived: 9000 }]]);
});
