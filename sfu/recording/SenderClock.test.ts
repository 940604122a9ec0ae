import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { parseSenderReports, SenderClock } from './SenderClock.ts';

/** An RTCP sender report (no report blocks) for `ntpMs`/`rtpTs`, as the worker sends it. */
function senderReport(ntpMs: number, rtpTs: number): Buffer {
	const buf = Buffer.alloc(28);
	buf[0] = 0x80; // version 2, no padding, 0 report blocks
	buf[1] = 200; // SR
	buf.writeUInt16BE(6, 2); // length in 32-bit words minus one
	buf.writeUInt32BE(0x1234, 4); // SSRC
	const seconds = Math.floor(ntpMs / 1000) + 2_208_988_800;
	buf.writeUInt32BE(seconds, 8);
	buf.writeUInt32BE(Math.round(((ntpMs % 1000) / 1000) * 2 ** 32), 12);
	buf.writeUInt32BE(rtpTs >>> 0, 16);
	return buf;
}

test('parses the sender reports of a compound RTCP packet and skips what is not one', () => {
	const receiverReport = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
	const packet = Buffer.concat([receiverReport, senderReport(1_700_000_000_250, 90_000)]);
	const [report, ...rest] = parseSenderReports(packet);
	assert.equal(rest.length, 0);
	assert.equal(report?.rtpTs, 90_000);
	assert.ok(Math.abs(report!.ntpMs - 1_700_000_000_250) < 1);
	assert.deepEqual(parseSenderReports(Buffer.from('not rtcp at all')), []);
	assert.deepEqual(parseSenderReports(senderReport(0, 0).subarray(0, 20)), [], 'a truncated packet yields nothing');
});

test('maps RTP timestamps to capture times from the reports that reach its loopback port, across the 32-bit wrap', async () => {
	const clock = await SenderClock.open(90_000);
	const sender = createSocket('udp4');
	try {
		assert.equal(clock.captureTime(1), undefined, 'no report yet');
		const got = once(clock, 'report');
		sender.send(senderReport(1_700_000_000_000, 2 ** 32 - 45_000), clock.port, '127.0.0.1');
		await got;
		// Half a second after the report's instant, past the wrap of the RTP clock.
		assert.ok(Math.abs(clock.captureTime(0)! - 1_700_000_000_500) < 1);
		assert.ok(Math.abs(clock.captureTime(2 ** 32 - 90_000)! - 1_699_999_999_500) < 1);
	} finally {
		sender.close();
		clock.close();
		clock.close(); // idempotent
	}
});
