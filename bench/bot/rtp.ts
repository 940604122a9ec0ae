/**
 * Just enough RTP for the bots: VP8 packetization (RFC 7741, with a 15-bit picture id,
 * TL0PICIDX and TID like Chrome sends, which simulcast-aware SFUs rewrite) and cheap
 * parsing of received packets (keyframe detection, a key for latency matching).
 */

/** Payload bytes per RTP packet (keeps packets under a 1200-byte MTU after SRTP and extensions). */
export const MAX_PAYLOAD = 1100;
const VP8_DESCRIPTOR_LEN = 6;

export interface Vp8PictureState {
	pictureId: number;
	tl0PicIdx: number;
}

/** Split one VP8 frame into RTP payloads (descriptor + partition bytes). */
export function packetizeVp8(frame: Buffer, state: Vp8PictureState): Buffer[] {
	const chunk = MAX_PAYLOAD - VP8_DESCRIPTOR_LEN;
	const count = Math.max(1, Math.ceil(frame.length / chunk));
	const out: Buffer[] = [];
	const pid = state.pictureId & 0x7fff;
	for (let i = 0; i < count; i++) {
		const part = frame.subarray(i * chunk, Math.min(frame.length, (i + 1) * chunk));
		const payload = Buffer.allocUnsafe(VP8_DESCRIPTOR_LEN + part.length);
		payload[0] = 0x80 | (i === 0 ? 0x10 : 0); // X, S on the first packet, PID 0
		payload[1] = 0x80 | 0x40 | 0x20; // I, L, T present
		payload[2] = 0x80 | (pid >> 8); // M: 15-bit picture id
		payload[3] = pid & 0xff;
		payload[4] = state.tl0PicIdx & 0xff;
		payload[5] = 0x20; // TID 0, Y 1, KEYIDX 0
		part.copy(payload, VP8_DESCRIPTOR_LEN);
		out.push(payload);
	}
	state.pictureId = (state.pictureId + 1) & 0x7fff;
	state.tl0PicIdx = (state.tl0PicIdx + 1) & 0xff;
	return out;
}

/** Offset of the VP8 payload header in an RTP payload (after the payload descriptor), or -1. */
function vp8HeaderOffset(p: Buffer): number {
	if (p.length < 1) return -1;
	let off = 1;
	const b0 = p[0]!;
	if (b0 & 0x80) {
		const x = p[off++];
		if (x === undefined) return -1;
		if (x & 0x80) {
			const pid = p[off];
			if (pid === undefined) return -1;
			off += pid & 0x80 ? 2 : 1;
		}
		if (x & 0x40) off++;
		if (x & 0x30) off++;
	}
	return off < p.length ? off : -1;
}

/** True when this RTP payload starts a VP8 keyframe (S=1, PID=0, P bit 0). */
export function isVp8KeyframeStart(payload: Buffer): boolean {
	const b0 = payload[0];
	if (b0 === undefined || (b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return false;
	const off = vp8HeaderOffset(payload);
	return off >= 0 && (payload[off]! & 0x01) === 0;
}

/**
 * A key that identifies a packet's payload across an SFU hop: SFUs rewrite SSRC,
 * sequence numbers, timestamps and the VP8 descriptor, but not the length or the last
 * bytes of the payload (codec data). Unique enough within a few seconds of one stream.
 */
export function payloadKey(payload: Buffer): number {
	const n = payload.length;
	if (n < 4) return n;
	return n * 0x1_0000_0000 + payload.readUInt32BE(n - 4);
}

/** Extended sequence-number tracking: received count and loss from gaps (RFC 3550 A.1 style, simplified). */
export class SeqTracker {
	#base = -1;
	#max = -1; // extended
	received = 0;

	/** Returns false for a duplicate/old packet that is not counted. */
	push(seq: number): boolean {
		if (this.#max < 0) {
			this.#base = seq;
			this.#max = seq;
			this.received = 1;
			return true;
		}
		const cycles = this.#max & ~0xffff;
		let ext = cycles | seq;
		// Choose the extension closest to the current max.
		if (ext - this.#max > 0x8000) ext -= 0x10000;
		else if (this.#max - ext > 0x8000) ext += 0x10000;
		if (ext > this.#max) this.#max = ext;
		this.received++;
		return true;
	}

	get expected(): number {
		return this.#max < 0 ? 0 : this.#max - this.#base + 1;
	}

	get lost(): number {
		return Math.max(0, this.expected - this.received);
	}
}
