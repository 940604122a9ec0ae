/**
 * When a recorded track's media was captured, from the RTCP sender reports the worker
 * sends for the recording's consumer. They come to a loopback socket of this process
 * (the PlainTransport's RTCP port; RTP still goes straight to ffmpeg, never through Node).
 *
 * mediasoup gives a consumer's sender reports the instant its media was captured by the
 * sender (from the sender's own reports, or abs-capture-time), on the worker's clock: the
 * same clock for every person, and for one person's audio and video alike (one clock per
 * CNAME). So "RTP timestamp t of this track" maps to "captured at ms since the epoch", which
 * lines files up by what they show rather than by when they arrived.
 *
 * close() is idempotent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';

/** Seconds from 1900 (NTP) to 1970 (Unix). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const RTCP_SR = 200;

export interface SenderReport {
	/** The sender's clock at the report (ms since the epoch). */
	ntpMs: number;
	/** The RTP timestamp of that instant. */
	rtpTs: number;
}

export type SenderClockEvents = {
	report: [report: SenderReport];
	/** The socket failed (reports stop; the recording goes on without capture times). */
	error: [error: Error];
};

export class SenderClock extends EventEmitter<SenderClockEvents> {
	readonly port: number;
	readonly clockRate: number;
	readonly #socket: Socket;
	#last: SenderReport | undefined;
	#closed = false;

	private constructor(socket: Socket, clockRate: number) {
		super();
		this.#socket = socket;
		this.clockRate = clockRate;
		this.port = socket.address().port;
		socket.on('message', (msg, from) => {
			if (from.address !== '127.0.0.1') return;
			for (const report of parseSenderReports(msg)) {
				this.#last = report;
				this.emit('report', report);
			}
		});
		// Loopback UDP: nothing to recover, the reports just stop. Told, not swallowed: a listener
		// gets it (without one, EventEmitter would throw it).
		socket.on('error', (error) => {
			if (this.listenerCount('error') > 0) this.emit('error', error);
		});
	}

	/** Listen on a free loopback port. */
	static async open(clockRate: number): Promise<SenderClock> {
		const socket = createSocket('udp4');
		await new Promise<void>((resolve, reject) => {
			socket.once('error', reject);
			socket.bind(0, '127.0.0.1', () => {
				socket.off('error', reject);
				resolve();
			});
		});
		return new SenderClock(socket, clockRate);
	}

	/** The latest report, if any came. */
	get last(): SenderReport | undefined {
		return this.#last;
	}

	/** When RTP timestamp `rtpTs` was captured (ms since the epoch), by `report` (the latest by default). */
	captureTime(rtpTs: number, report: SenderReport | undefined = this.#last): number | undefined {
		if (!report) return undefined;
		// RTP timestamps wrap at 2^32: the difference as a signed 32-bit number.
		const delta = (rtpTs - report.rtpTs) | 0;
		return report.ntpMs + (delta * 1000) / this.clockRate;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#socket.close();
		this.removeAllListeners();
	}
}

/** The sender reports in an RTCP (compound) packet. */
export function parseSenderReports(buf: Buffer): SenderReport[] {
	const out: SenderReport[] = [];
	let off = 0;
	while (off + 4 <= buf.length) {
		if (buf[off]! >> 6 !== 2) break; // not RTCP version 2
		const length = (buf.readUInt16BE(off + 2) + 1) * 4;
		if (off + length > buf.length) break;
		if (buf[off + 1] === RTCP_SR && length >= 28) {
			const seconds = buf.readUInt32BE(off + 8);
			const fraction = buf.readUInt32BE(off + 12);
			out.push({ ntpMs: (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000, rtpTs: buf.readUInt32BE(off + 16) });
		}
		off += length;
	}
	return out;
}
