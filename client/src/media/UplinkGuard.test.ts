import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UplinkGuard, uplinkSample } from './UplinkGuard.ts';

/** Feeds `seconds` one-second samples of `pps` packets, `rtxShare` of them retransmissions. */
function feed(guard: UplinkGuard, state: { now: number; sent: number; rtx: number }, seconds: number, pps: number, rtxShare: number): boolean[] {
	const out: boolean[] = [];
	for (let i = 0; i < seconds; i++) {
		state.now += 1000;
		state.sent += pps;
		state.rtx += Math.round(pps * rtxShare);
		out.push(guard.update({ now: state.now, packetsSent: state.sent, retransmittedPacketsSent: state.rtx, upperActive: true, upperFramesSent: state.now / 40, bandwidthLimited: false }));
	}
	return out;
}

test('a clean or mildly lossy uplink is never held', () => {
	const guard = new UplinkGuard();
	const s = { now: 0, sent: 0, rtx: 0 };
	assert.ok(feed(guard, s, 20, 150, 0).every((h) => !h));
	assert.ok(feed(guard, s, 20, 150, 0.1).every((h) => !h), '10% loss keeps the upper layers');
});

test('heavy loss holds after the window fills, and the hold outlasts short clean spells', () => {
	const guard = new UplinkGuard({ window: 3, releaseMs: 15_000 });
	const s = { now: 0, sent: 0, rtx: 0 };
	feed(guard, s, 1, 150, 0);
	const entering = feed(guard, s, 3, 150, 0.3);
	assert.deepEqual(entering, [false, false, true], 'held once three lossy samples are in');
	assert.equal(guard.heavyLoss, true, 'held for heavy loss: the lowest layer may run at full rate');
	// Clean for 10 s (< releaseMs): still held; the share must stay low for the whole release time.
	assert.ok(feed(guard, s, 10, 150, 0).every((h) => h));
	// Loss again resets the release clock.
	feed(guard, s, 2, 150, 0.3);
	const clean = feed(guard, s, 20, 150, 0);
	const released = clean.indexOf(false);
	// The window still holds lossy samples for 2 s, then 15 s clean.
	assert.ok(released >= 15 && released <= 18, `released after ${released + 1} clean samples`);
	assert.ok(clean.slice(released).every((h) => !h));
});

test('too few packets are not judged, and counters going back start over', () => {
	const guard = new UplinkGuard({ minPackets: 60 });
	const s = { now: 0, sent: 0, rtx: 0 };
	assert.ok(feed(guard, s, 10, 15, 0.5).every((h) => !h), '15 packets a second at 50% rtx: too little to judge');
	feed(guard, s, 4, 150, 0.4);
	assert.equal(guard.held, true);
	// A new sender: counters restart from zero; the hold stays until judged clean.
	assert.equal(guard.update({ now: s.now + 1000, packetsSent: 5, retransmittedPacketsSent: 0, upperActive: false, upperFramesSent: 0, bandwidthLimited: false }), true);
	guard.reset();
	assert.equal(guard.held, false);
});

test('a second layer the browser suspended for bandwidth is held off, longer when it recurs', () => {
	const guard = new UplinkGuard({ window: 3, holdMs: 20_000, maxHoldMs: 80_000 });
	let now = 0;
	let sent = 0;
	let upperFrames = 0;
	const step = (upperActive: boolean, upperSending: boolean, bandwidthLimited: boolean): boolean => {
		now += 1000;
		sent += 20;
		if (upperSending) upperFrames += 20;
		return guard.update({ now, packetsSent: sent, retransmittedPacketsSent: 0, upperActive, upperFramesSent: upperFrames, bandwidthLimited });
	};
	step(true, true, false);
	// Suspended but not for bandwidth (e.g. CPU): not ours to judge.
	for (let i = 0; i < 5; i++) assert.equal(step(true, false, false), false);
	// Sending while bandwidth-limited: fine.
	for (let i = 0; i < 5; i++) assert.equal(step(true, true, true), false);
	const first = [step(true, false, true), step(true, false, true), step(true, false, true)];
	assert.deepEqual(first, [false, false, true]);
	assert.equal(guard.heavyLoss, false, 'held for bandwidth alone');
	// Held: the layer is off (inactive) for 20 s.
	let t = 0;
	while (step(false, false, true)) t++;
	assert.ok(t >= 18 && t <= 20, `first hold ${t} s`);
	// Suspended again right away (the layer is back, sends nothing): held again, twice as long.
	const again = [step(true, false, true), step(true, false, true), step(true, false, true), step(true, false, true)];
	assert.deepEqual(again, [false, false, false, true]);
	t = 0;
	while (step(false, false, true)) t++;
	assert.ok(t >= 38 && t <= 40, `second hold ${t} s`);
});

test('uplinkSample sums the video layers of a sender report', () => {
	const entries = [
		{ type: 'outbound-rtp', kind: 'video', rid: 'r0', packetsSent: 100, retransmittedPacketsSent: 30, framesSent: 90, qualityLimitationReason: 'bandwidth' },
		{ type: 'outbound-rtp', kind: 'video', rid: 'r1', active: true, packetsSent: 50, retransmittedPacketsSent: 5, framesSent: 40 },
		{ type: 'outbound-rtp', kind: 'video', rid: 'r2', active: true, packetsSent: 0, retransmittedPacketsSent: 0, framesSent: 0 },
		{ type: 'outbound-rtp', kind: 'audio', packetsSent: 500, retransmittedPacketsSent: 0 },
		{ type: 'candidate-pair', packetsSent: 999 },
	];
	const report = { forEach: (fn: (e: Record<string, unknown>) => void) => entries.forEach(fn) } as unknown as RTCStatsReport;
	assert.deepEqual(uplinkSample(report, 7), { now: 7, packetsSent: 150, retransmittedPacketsSent: 35, upperActive: true, upperFramesSent: 40, bandwidthLimited: true });
});

test('lossy: heavy loss within the release time, at the threshold the caller gives (0.2 for the frame rate alone)', () => {
	const guard = new UplinkGuard({ enterRatio: 0.2, releaseMs: 15_000 });
	const s = { now: 0, sent: 0, rtx: 0 };
	feed(guard, s, 1, 150, 0);
	feed(guard, s, 20, 150, 0.11);
	assert.equal(guard.lossy, false, '10% loss (~11% retransmitted) is not heavy');
	feed(guard, s, 3, 150, 0.3);
	assert.equal(guard.lossy, true, '30% loss is, once the window is full of it');
	const clean = [];
	for (let i = 0; i < 20; i++) {
		feed(guard, s, 1, 150, 0);
		clean.push(guard.lossy);
	}
	const off = clean.indexOf(false);
	assert.ok(off >= 14 && off <= 17, `lossy until ~15 s after the loss (${off + 1} s)`);
});

test('a restart burst over a mostly silent window is not loss: only steady sending is judged', () => {
	const guard = new UplinkGuard({ enterRatio: 0.2, window: 5, spreadSamples: 3, releaseMs: 15_000 });
	const s = { now: 0, sent: 0, rtx: 0 };
	feed(guard, s, 6, 150, 0);
	// Every layer off (nobody watching): nothing sent for 4 s.
	feed(guard, s, 4, 0, 0);
	// Back on: the keyframes' burst, half of it repaired (a starved SFU socket dropped it).
	feed(guard, s, 1, 120, 0.5);
	assert.equal(guard.lossy, false, 'a repaired burst after silence');
	feed(guard, s, 4, 150, 0.02);
	assert.equal(guard.lossy, false, 'nor once steady sending dilutes it');
	// Drops in bursts on a busy machine: one bad second in five is not heavy loss.
	for (let i = 0; i < 4; i++) {
		feed(guard, s, 1, 150, 0.6);
		feed(guard, s, 4, 150, 0.02);
	}
	assert.equal(guard.lossy, false, 'a bad second in five');
	// A starved SFU socket's burst, as measured on loopback: 168 of ~350 packets lost in one second,
	// a few more repaired in the next, nothing around them (over 20% of the window's packets).
	feed(guard, s, 1, 350, 0.15);
	feed(guard, s, 1, 190, 0.72);
	feed(guard, s, 3, 110, 0);
	assert.equal(guard.lossy, false, 'one burst is not heavy loss, though the window sums to over a fifth');
	// Random 30% loss at the lowest layer's rate after the estimate collapsed (~13 packets a second).
	feed(guard, s, 5, 13, 0.3);
	assert.equal(guard.lossy, true, 'steady heavy loss, even at 13 packets a second');
});
