import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JitterBufferTuner } from './receiverTuning.ts';

type Stat = Record<string, unknown>;
const report = (entries: Stat[]) => ({ forEach: (fn: (e: Stat) => void) => entries.forEach(fn) }) as unknown as RTCStatsReport;

function consumer(id: string, kind: 'audio' | 'video', peerId: string) {
	const receiver = { jitterBufferTarget: null as number | null };
	return {
		id,
		kind,
		closed: false,
		track: { id: `track-${id}` } as MediaStreamTrack,
		rtpReceiver: receiver as unknown as RTCRtpReceiver,
		appData: { peerId },
		receiver,
	};
}

const inbound = (c: { id: string }, received: number, lost: number, extra: Stat = {}): Stat => ({
	type: 'inbound-rtp',
	trackIdentifier: `track-${c.id}`,
	packetsReceived: received,
	packetsLost: lost,
	nackCount: 0,
	...extra,
});
const pair = (rttS: number): Stat => ({ type: 'candidate-pair', nominated: true, currentRoundTripTime: rttS });

test('loss from a sender deepens the buffers of all its receivers, sized by both round trips', () => {
	const tuner = new JitterBufferTuner();
	const audio = consumer('a', 'audio', 'alice');
	const video = consumer('v', 'video', 'alice');
	const other = consumer('o', 'video', 'bob');
	const all = [audio, video, other];
	const rtt = (peer: string) => (peer === 'alice' ? 120 : 10);
	for (let i = 0; i < 3; i++) {
		// Start-up: even loss is not acted on yet.
		tuner.update(report([pair(0.02), inbound(audio, 100 * i, 5 * i), inbound(video, 300 * i, 0), inbound(other, 300 * i, 0)]), all, rtt);
	}
	assert.equal(audio.receiver.jitterBufferTarget, null, 'no history yet');
	tuner.update(report([pair(0.02), inbound(audio, 250, 20), inbound(video, 1000, 0), inbound(other, 1000, 0)]), all, rtt);
	// 2 × (20 + 120) + 40
	assert.equal(audio.receiver.jitterBufferTarget, 320);
	assert.equal(video.receiver.jitterBufferTarget, 320, 'the same sender’s video too (lip sync)');
	assert.equal(other.receiver.jitterBufferTarget, null, 'a clean sender keeps the default');
	assert.equal(tuner.targetFor('v'), 320);
});

test('concealment counts as loss; targets are capped; clean again releases them', (t) => {
	let now = 0;
	t.mock.method(performance, 'now', () => now);
	const tuner = new JitterBufferTuner();
	const audio = consumer('a', 'audio', 'alice');
	let received = 0;
	let concealed = 0;
	let total = 0;
	// One update per second: 50 packets and 48,000 samples, `lost` of them concealed.
	const second = (concealedNow: number): void => {
		now += 1000;
		received += 50;
		total += 48_000;
		concealed += concealedNow;
		tuner.update(report([pair(0.3), inbound(audio, received, 0, { concealedSamples: concealed, totalSamplesReceived: total })]), [audio], () => 500);
	};
	for (let i = 0; i < 5; i++) second(0);
	second(200);
	assert.equal(audio.receiver.jitterBufferTarget, null, 'a short glitch is not loss');
	second(9600);
	assert.equal(audio.receiver.jitterBufferTarget, 400, 'capped');
	for (let i = 0; i < 8; i++) second(0);
	assert.equal(audio.receiver.jitterBufferTarget, 400, 'held for a while after the loss');
	for (let i = 0; i < 8; i++) second(0);
	assert.equal(audio.receiver.jitterBufferTarget, null, 'released');
});

test('heavy loss (over 25% of the packets asked for again) buffers for heavyLossRoundTrips; light loss for two', () => {
	const run = (roundTrips: number | undefined, nackShare: number): number | null => {
		const tuner = new JitterBufferTuner(roundTrips === undefined ? {} : { heavyLossRoundTrips: roundTrips });
		const video = consumer('v', 'video', 'alice');
		for (let i = 0; i < 5; i++) {
			const received = 300 * i;
			tuner.update(report([pair(0.02), inbound(video, received, 0, { nackCount: Math.round(received * nackShare) })]), [video], () => 60);
		}
		return video.receiver.jitterBufferTarget;
	};
	// Path: 20 ms (own) + 60 ms (the sender's).
	assert.equal(run(3, 0.3), 3 * 80 + 40, 'heavy: three round trips');
	assert.equal(run(3, 0.08), 2 * 80 + 40, 'light: two');
	assert.equal(run(undefined, 0.3), 2 * 80 + 40, 'default: two, whatever the loss');
	assert.equal(run(2, 0.3), 2 * 80 + 40);
});

test('heavy-loss round trips are added only within the latency budget; two round trips are never cut', () => {
	const run = (budget: number | undefined, ownRttS: number, senderRttMs: number, nackShare = 0.3): number | null => {
		const tuner = new JitterBufferTuner({ heavyLossRoundTrips: 3, ...(budget === undefined ? {} : { latencyBudgetMs: budget }) });
		const video = consumer('v', 'video', 'alice');
		for (let i = 0; i < 5; i++) {
			const received = 300 * i;
			tuner.update(report([pair(ownRttS), inbound(video, received, 0, { nackCount: Math.round(received * nackShare) })]), [video], () => senderRttMs);
		}
		return video.receiver.jitterBufferTarget;
	};
	// 30% loss on the receiver's own link, 100 ms RTT; the sender is clean (5 ms): path 105 ms.
	assert.equal(run(undefined, 0.1, 5), 3 * 105 + 40, 'no budget: three round trips');
	// 400 − 105 / 2 − 100 = 248 < three round trips (355): two (250), not less.
	assert.equal(run(400, 0.1, 5), 2 * 105 + 40, 'the third does not fit 400 ms glass to glass');
	assert.equal(run(600, 0.1, 5), 3 * 105 + 40, 'a looser budget fits it');
	// Path 120 ms: two round trips 280, three 400; 500 − 60 − 100 = 340 lies between.
	assert.equal(run(500, 0.1, 20), 340, 'up to the budget: part of the third');
	assert.equal(run(400, 0.02, 10), 3 * 30 + 40, 'a short path: all three fit');
	assert.equal(run(400, 0.08, 80, 0.1), 2 * 160 + 40, 'light loss: two round trips even past the budget');
});
