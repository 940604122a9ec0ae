/**
 * A headless participant: joins through an SfuConnector, publishes looped pre-encoded
 * VP8 (one layer or three simulcast layers) and Opus over a real werift
 * PeerConnection (ICE, DTLS, SRTP), and/or receives everyone else's streams and counts
 * them cheaply (packets, bytes, loss from sequence gaps, keyframes, latency).
 *
 * Receiving in 'lean' mode (the default) takes packets from werift's DTLS/SRTP
 * transport right after decryption and skips werift's per-track receive pipeline
 * (jitter/NACK/RTCP receiver reports), so one bot process can count many streams; 'full'
 * mode keeps werift's pipeline as well.
 */
import { performance } from 'node:perf_hooks';
import {
	PictureLossIndication,
	RtcpPayloadSpecificFeedback,
	RtcpSenderInfo,
	RtcpSrPacket,
	RtpHeader,
	RtpPacket,
	type RTCDtlsTransport,
	type RTCPeerConnection,
	type RTCRtpSender,
} from 'werift';
import type { PublishedMedia, PublishSpec, RemoteStream, SessionOptions, SfuConnector, SfuSession } from './connector.ts';
import { LOOP_SECONDS, loadMedia, VIDEO_FPS, type MediaSet } from './media.ts';
import { createPeerConnection, waitConnected } from './peer.ts';
import { isVp8KeyframeStart, packetizeVp8, payloadKey, SeqTracker, type Vp8PictureState } from './rtp.ts';

export interface BotOptions {
	connector: SfuConnector;
	room: string;
	identity: string;
	publish?: PublishSpec;
	subscribe?: boolean;
	receiveMode?: 'lean' | 'full';
	/** Where latency samples go (shared by the bots of one process). */
	latency?: LatencyRecorder;
	/**
	 * Video frames leave this long after they were captured (their RTP timestamp and sender
	 * reports say when), as from a browser whose camera and encoder take longer than its
	 * microphone: arrival times then differ from capture times by this much (default 0).
	 */
	videoDelayMs?: number;
}

export interface StreamCounts {
	packets: number;
	bytes: number;
	/** Expected minus received, from sequence numbers. */
	lost: number;
	expected: number;
	keyframes: number;
}

export interface JoinTiming {
	/** prepare(): the receive connection set up before the join (ms; not part of the others). */
	preparedMs?: number;
	/** connect() start → signaling joined (ms). */
	joinedMs?: number;
	/** connect() start → the receive connection is connected (ICE and DTLS done) (ms). */
	connectedMs?: number;
	/** connect() start → first RTP packet received (ms). */
	firstPacketMs?: number;
	/** connect() start → first video keyframe received (ms). */
	firstKeyframeMs?: number;
}

/* ------------------------------------------------------------------------------------ */
/* Latency: publishers note when they sent each payload; subscribers in the same process */
/* look their received payloads up (SFUs rewrite headers but not codec payload bytes).  */

const sentAt = new Map<string, Map<number, number>>();
const SENT_KEEP_MS = 3000;
/**
 * A publisher takes at most one keyframe request per this many ms and drops the others, as
 * Chromium does (libwebrtc video/encoder_rtcp_feedback.cc, kMinKeyframeSendIntervalMs).
 */
export const KEYFRAME_MIN_INTERVAL_MS = 300;

function noteSent(stream: string, key: number, now: number): void {
	let m = sentAt.get(stream);
	if (!m) sentAt.set(stream, (m = new Map()));
	m.set(key, now);
}

function pruneSent(now: number): void {
	for (const m of sentAt.values()) {
		for (const [k, t] of m) {
			if (now - t <= SENT_KEEP_MS) break; // insertion order = send order
			m.delete(k);
		}
	}
}

/** Collects one-way latency samples (ms), bounded in memory. */
export class LatencyRecorder {
	readonly #max: number;
	samples: number[] = [];
	seen = 0;

	constructor(max = 100_000) {
		this.#max = max;
	}

	add(ms: number): void {
		this.seen++;
		if (this.samples.length < this.#max) this.samples.push(ms);
		else {
			const i = Math.floor(Math.random() * this.seen);
			if (i < this.#max) this.samples[i] = ms;
		}
	}

	reset(): void {
		this.samples = [];
		this.seen = 0;
	}
}

/* ------------------------------------------------------------------------------------ */
/* One pacer for all publishers of a process.                                            */

type Tickable = { tick(now: number): void };
const tickables = new Set<Tickable>();
let pacer: NodeJS.Timeout | undefined;
let lastPrune = 0;

function addTickable(t: Tickable): void {
	tickables.add(t);
	if (!pacer) {
		pacer = setInterval(() => {
			const now = performance.now();
			for (const x of tickables) x.tick(now);
			if (now - lastPrune > 500) {
				lastPrune = now;
				pruneSent(now);
			}
		}, 5);
	}
}

function removeTickable(t: Tickable): void {
	tickables.delete(t);
	if (tickables.size === 0 && pacer) {
		clearInterval(pacer);
		pacer = undefined;
		sentAt.clear();
	}
}

/* ------------------------------------------------------------------------------------ */

interface LayerState {
	ssrc: number;
	seq: number;
	pic: Vp8PictureState;
	packets: number;
	octets: number;
}

/** Sends the looped media of one publishing bot. */
class MediaPump implements Tickable {
	readonly #media: MediaSet;
	readonly #pub: PublishedMedia;
	readonly #identity: string;
	readonly #start = performance.now();
	readonly #videoTsBase = (Math.random() * 0xffffffff) >>> 0;
	readonly #audioTsBase = (Math.random() * 0xffffffff) >>> 0;
	readonly #layers: LayerState[];
	readonly #dtls: RTCDtlsTransport | undefined;
	readonly #videoDelayMs: number;
	#videoFrames = 0; // frames sent so far (drives the RTP timestamp)
	/**
	 * How far the clip is ahead of the frames sent (frames): it grows when a keyframe
	 * request jumps to the next keyframe. Audio follows it (to the nearest 20 ms packet), so
	 * the clip's picture and sound stay together: its sync markers tell the A/V drift.
	 */
	#clipAhead = 0;
	#audioPackets = 0;
	#audioOctets = 0;
	#audioSeq = (Math.random() * 0xffff) & 0xffff;
	#keyframeWanted = false;
	#lastKeyframeRequest = -Infinity;
	#lastSr = 0;
	packetsSent = 0;
	bytesSent = 0;
	keyframeRequests = 0;
	/** Keyframe requests dropped because one was taken less than KEYFRAME_MIN_INTERVAL_MS before. */
	keyframeRequestsDropped = 0;
	/** Video frames not sent because the bot process stalled. */
	framesSkipped = 0;

	constructor(identity: string, media: MediaSet, pub: PublishedMedia, videoDelayMs = 0) {
		this.#identity = identity;
		this.#videoDelayMs = videoDelayMs;
		this.#media = media;
		this.#pub = pub;
		this.#layers = (pub.video?.ssrcs ?? []).map((ssrc) => ({
			ssrc,
			seq: (Math.random() * 0xffff) & 0xffff,
			pic: { pictureId: (Math.random() * 0x7fff) & 0x7fff, tl0PicIdx: 0 },
			packets: 0,
			octets: 0,
		}));
		this.#dtls = pub.video?.sender.dtlsTransport ?? pub.audio?.sender.dtlsTransport;
		for (const sender of [pub.video?.sender, pub.audio?.sender]) if (sender) silenceSenderReports(sender);
		this.#dtls?.onRtcp.subscribe((rtcp) => {
			if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
			const fb = rtcp.feedback;
			const fir = 'fir' in fb; // FullIntraRequest (not exported by werift)
			if (fb instanceof PictureLossIndication || fir) {
				if (fir || this.#layers.some((l) => l.ssrc === fb.mediaSsrc)) {
					this.keyframeRequests++;
					// As libwebrtc's EncoderRtcpFeedback: a request within 300 ms of the last one taken
					// is dropped, not deferred (the SFU must ask again).
					const now = performance.now();
					if (now - this.#lastKeyframeRequest < KEYFRAME_MIN_INTERVAL_MS) {
						this.keyframeRequestsDropped++;
						return;
					}
					this.#lastKeyframeRequest = now;
					this.#keyframeWanted = true;
				}
			}
		});
	}

	tick(now: number): void {
		const elapsed = now - this.#start;
		if (this.#pub.video) {
			// After a stall of the bot process, skip the frames that are late by more than
			// 100 ms instead of bursting them (keeps the stream at its bitrate); the RTP
			// timestamp follows the wall clock either way.
			const captured = elapsed - this.#videoDelayMs; // frames captured up to then are due
			const due = Math.floor(captured / (1000 / VIDEO_FPS));
			if (due - this.#videoFrames > 3) {
				this.framesSkipped += due - this.#videoFrames;
				this.#videoFrames = due;
			}
			for (let n = 0; n < 3 && this.#videoFrames * (1000 / VIDEO_FPS) <= captured; n++) this.#sendVideoFrame(now);
		}
		if (this.#pub.audio) {
			const due = Math.floor(elapsed / 20);
			if (due - this.#audioPackets > 5) this.#audioPackets = due;
			for (let n = 0; n < 3 && this.#audioPackets * 20 <= elapsed; n++) this.#sendAudio(now);
		}
		if (now - this.#lastSr > 1000) {
			this.#lastSr = now;
			this.#sendSenderReports();
		}
	}

	#sendVideoFrame(now: number): void {
		const video = this.#pub.video!;
		const frames = this.#media.layers[0]!.frames.length;
		let index = (this.#videoFrames + this.#clipAhead) % frames;
		if (this.#keyframeWanted) {
			// Answer a keyframe request by jumping to the next keyframe of the loop.
			this.#keyframeWanted = false;
			const kf = this.#media.layers[1]!.frames.findIndex((f, i) => i >= index && f.keyframe);
			const next = kf >= 0 ? kf : frames;
			this.#clipAhead += next - index;
			index = next % frames;
		}
		const ts = (this.#videoTsBase + this.#videoFrames * (90000 / VIDEO_FPS)) >>> 0;
		const single = this.#layers.length === 1;
		this.#layers.forEach((layer, i) => {
			const frame = this.#media.layers[single ? 1 : i]!.frames[index]!;
			const payloads = packetizeVp8(frame.data, layer.pic);
			const stream = `${this.#identity}:video`;
			payloads.forEach((payload, p) => {
				const header = new RtpHeader({
					payloadType: video.payloadType,
					sequenceNumber: layer.seq,
					timestamp: ts,
					ssrc: layer.ssrc,
					marker: p === payloads.length - 1,
				});
				layer.seq = (layer.seq + 1) & 0xffff;
				noteSent(stream, payloadKey(payload), now);
				if (i === 0) {
					video.sender.sendRtp(new RtpPacket(header, payload)).catch(() => {});
				} else {
					void this.#dtls!.sendRtp(payload, header);
				}
				layer.packets++;
				layer.octets += payload.length;
				this.packetsSent++;
				this.bytesSent += payload.length;
			});
		});
		this.#videoFrames++;
	}

	#sendAudio(now: number): void {
		const audio = this.#pub.audio!;
		const opus = this.#media.opus;
		const clipMs = this.#audioPackets * 20 + this.#clipAhead * (1000 / VIDEO_FPS);
		const payload = opus[Math.round(clipMs / 20) % Math.min(opus.length, LOOP_SECONDS * 50)]!;
		const header = new RtpHeader({
			payloadType: audio.payloadType,
			sequenceNumber: this.#audioSeq,
			timestamp: (this.#audioTsBase + this.#audioPackets * 960) >>> 0,
			ssrc: audio.sender.ssrc,
			marker: this.#audioPackets === 0,
		});
		this.#audioSeq = (this.#audioSeq + 1) & 0xffff;
		noteSent(`${this.#identity}:audio`, payloadKey(payload), now);
		audio.sender.sendRtp(new RtpPacket(header, payload)).catch(() => {});
		this.#audioPackets++;
		this.#audioOctets += payload.length;
		this.packetsSent++;
		this.bytesSent += payload.length;
	}

	/**
	 * RTCP sender reports for every stream (audio, each simulcast layer), as a browser sends
	 * them: the RTP timestamp of this instant against the wall clock (NTP), the same clock
	 * for audio and video, so a receiver can line them up.
	 */
	#sendSenderReports(): void {
		const dtls = this.#dtls;
		if (!dtls) return;
		const wallMs = performance.timeOrigin + performance.now();
		const elapsed = performance.now() - this.#start;
		const ntpTimestamp = ntpFromEpochMs(wallMs);
		const videoTs = (this.#videoTsBase + Math.round((elapsed * 90000) / 1000)) >>> 0;
		const reports = this.#layers.map(
			(l, i) =>
				new RtcpSrPacket({
					ssrc: l.ssrc,
					senderInfo: new RtcpSenderInfo({
						ntpTimestamp,
						rtpTimestamp: (videoTs + (i === 0 ? timestampOffsetOf(this.#pub.video!.sender) : 0)) >>> 0,
						packetCount: l.packets,
						octetCount: l.octets,
					}),
				}),
		);
		const audio = this.#pub.audio;
		if (audio) {
			const ts = (this.#audioTsBase + Math.round((elapsed * 48000) / 1000) + timestampOffsetOf(audio.sender)) >>> 0;
			reports.push(
				new RtcpSrPacket({
					ssrc: audio.sender.ssrc,
					senderInfo: new RtcpSenderInfo({ ntpTimestamp, rtpTimestamp: ts, packetCount: this.#audioPackets, octetCount: this.#audioOctets }),
				}),
			);
		}
		void dtls.sendRtcp(reports).catch(() => {});
	}
}

/** NTP timestamp (RFC 3550: seconds since 1900 . 32-bit fraction) of a wall-clock time. */
export function ntpFromEpochMs(ms: number): bigint {
	const sinceNtpEpoch = ms - Date.UTC(1900, 0, 1);
	const seconds = Math.floor(sinceNtpEpoch / 1000);
	const fraction = Math.floor(((sinceNtpEpoch - seconds * 1000) / 1000) * 2 ** 32);
	return (BigInt(seconds) << 32n) | BigInt(fraction);
}

/**
 * werift's own sender reports give the NTP time's fraction as the decimal digits of the
 * milliseconds (werift 0.25: `ntpTime()`), i.e. whole seconds: a receiver could not line
 * audio and video up by them. Its report loop is kept from starting (it starts on the
 * first packet sent and stops while `rtcpRunning` is set); the pump sends correct ones.
 */
function silenceSenderReports(sender: RTCRtpSender): void {
	const internals = sender as unknown as { rtcpRunning: boolean; rtcpCancel: AbortController };
	internals.rtcpRunning = true;
	internals.rtcpCancel.abort();
}

/** What werift adds to the RTP timestamps of packets sent through a sender (0 unless a track was replaced). */
function timestampOffsetOf(sender: RTCRtpSender): number {
	return (sender as unknown as { timestampOffset?: number }).timestampOffset ?? 0;
}

/* ------------------------------------------------------------------------------------ */

class StreamCounter {
	readonly info: RemoteStream;
	readonly seq = new SeqTracker();
	readonly latencyStream: string;
	packets = 0;
	bytes = 0;
	keyframes = 0;
	readonly createdAt = performance.now();

	constructor(info: RemoteStream) {
		this.info = info;
		this.latencyStream = `${info.publisherId}:${info.kind}`;
	}
}

/** The pre-encoded media a publishing bot loops. */
type LoadedMedia = Awaited<ReturnType<typeof loadMedia>>;

export class Bot {
	readonly options: BotOptions;
	readonly identity: string;
	readonly timing: JoinTiming = {};
	session: SfuSession | undefined;
	#sendPc: RTCPeerConnection | undefined;
	#recvPc: RTCPeerConnection | undefined;
	#pump: MediaPump | undefined;
	readonly #streams = new Map<number, StreamCounter>();
	#unknown = 0;
	#t0 = 0;
	/** What prepare() set up, until start() uses it. */
	#lobby: { pc: RTCPeerConnection; prepared: unknown } | undefined;
	#closed = false;
	#hooked = new WeakSet<object>();
	#mediaMoves = 0;
	#preparedMoves = 0;
	/** From `at` on (performance.now()), the first packet from each publisher and kind (see watchFrom). */
	#since: { at: number; first: Map<string, number> } | null = null;

	constructor(options: BotOptions) {
		this.options = options;
		this.identity = options.identity;
	}

	#sessionOptions(): SessionOptions {
		return { room: this.options.room, identity: this.identity, publish: !!this.options.publish, subscribe: !!this.options.subscribe };
	}

	/**
	 * The browser's lobby: set up the receive connection before start() (SFUs that can, i.e.
	 * Parley; a no-op elsewhere). Whether one was prepared; start() then joins on it.
	 */
	async prepare(): Promise<boolean> {
		const { connector } = this.options;
		if (!this.options.subscribe || !connector.prepare) return false;
		const t = performance.now();
		const pc = createPeerConnection(connector.localAddress);
		let prepared: unknown = null;
		try {
			prepared = await connector.prepare(this.#sessionOptions(), pc);
		} finally {
			if (!prepared) await pc.close().catch(() => {});
		}
		if (!prepared) return false;
		this.#lobby = { pc, prepared };
		this.timing.preparedMs = performance.now() - t;
		return true;
	}

	/** Join, then publish and/or subscribe. Resolves when both are negotiated and connected. */
	async start(): Promise<void> {
		const { connector } = this.options;
		this.#t0 = performance.now();
		const media = this.options.publish ? await loadMedia() : undefined;
		this.session = await connector.connect(this.#sessionOptions(), this.#lobby?.prepared);
		this.timing.joinedMs = performance.now() - this.#t0;
		const session = this.session;
		session.onMediaReconnect?.((prepared) => {
			this.#mediaMoves++;
			if (prepared) this.#preparedMoves++;
			void this.#restartMedia(session, media, prepared).catch((error: unknown) => {
				if (!this.#closed) console.error(`[bot ${this.identity}] media not set up again after a move`, error);
			});
		});
		await this.#startMedia(session, media);
	}

	/** Publish and/or subscribe on new connections. */
	async #startMedia(session: SfuSession, media: LoadedMedia | undefined): Promise<void> {
		const { connector } = this.options;
		const tasks: Promise<void>[] = [];
		if (this.options.publish) {
			const pc = (this.#sendPc = createPeerConnection(connector.localAddress));
			tasks.push(
				session.publish(pc, this.options.publish).then((pub) => {
					if (this.#closed || pc !== this.#sendPc) return;
					this.#pump = new MediaPump(this.identity, media!, pub, this.options.videoDelayMs);
					addTickable(this.#pump);
				}),
			);
		}
		if (this.options.subscribe) {
			// The connection prepare() set up, if the join took it (connected before the join).
			const lobby = this.#lobby?.pc;
			this.#lobby = undefined;
			const taken = !!lobby && session.preparedTaken === true;
			if (lobby && !taken) void lobby.close().catch(() => {});
			if (taken) this.timing.connectedMs = 0;
			const pc = (this.#recvPc = taken ? lobby : createPeerConnection(connector.localAddress));
			const hook = (): void => this.#hookReceive(pc);
			pc.connectionStateChange.subscribe((state) => {
				if (state === 'connected' && this.timing.connectedMs === undefined) this.timing.connectedMs = performance.now() - this.#t0;
				hook();
			});
			tasks.push(
				session.subscribe(pc, (stream) => {
					this.#streams.set(stream.ssrc, new StreamCounter(stream));
					hook();
				}),
			);
		}
		await Promise.all(tasks);
	}

	/**
	 * The SFU moved this bot's media (a worker died): drop the old connections and set up anew,
	 * with the session the SFU prepared (as the browser does) or by joining again on the same socket.
	 */
	async #restartMedia(session: SfuSession, media: LoadedMedia | undefined, prepared?: unknown): Promise<void> {
		if (this.#closed || !session.rejoin) return;
		if (this.#pump) removeTickable(this.#pump);
		this.#pump = undefined;
		const old = [this.#sendPc, this.#recvPc];
		this.#sendPc = this.#recvPc = undefined;
		await Promise.all(old.map((pc) => pc?.close().catch(() => {})));
		await session.rejoin(prepared);
		if (this.#closed) return;
		await this.#startMedia(session, media);
	}

	/**
	 * Note, from `at` (performance.now()) on, when the first packet from each publisher and
	 * kind arrives (e.g. after a worker was killed at `at`): read with firstPacketsSince().
	 */
	watchFrom(at: number): void {
		this.#since = { at, first: new Map() };
	}

	/** `publisherId:kind` → ms from the watchFrom() time to its first packet since (a new video stream: its first keyframe). */
	firstPacketsSince(): Map<string, number> {
		const since = this.#since;
		return new Map(since ? [...since.first].map(([k, t]) => [k, t - since.at]) : []);
	}

	/** How many times the SFU moved this bot's media (media:reconnect). */
	/** Moves set up from the session the SFU prepared (no join round trip). */
	get preparedMoves(): number {
		return this.#preparedMoves;
	}

	get mediaMoves(): number {
		return this.#mediaMoves;
	}

	/** Wait until the receive connection is connected (when there is something to receive). */
	async connected(timeoutMs = 15_000): Promise<void> {
		if (this.#recvPc && this.#streams.size > 0) await waitConnected(this.#recvPc, timeoutMs);
	}

	#hookReceive(pc: RTCPeerConnection): void {
		for (const dtls of pc.dtlsTransports) {
			if (this.#hooked.has(dtls)) continue;
			this.#hooked.add(dtls);
			if ((this.options.receiveMode ?? 'lean') === 'lean') dtls.onRtp.allUnsubscribe();
			const latency = this.options.latency;
			dtls.onRtp.subscribe((rtp) => {
				const now = performance.now();
				const c = this.#streams.get(rtp.header.ssrc);
				if (this.timing.firstPacketMs === undefined) this.timing.firstPacketMs = now - this.#t0;
				if (!c) {
					this.#unknown++;
					return;
				}
				if (this.#since && now >= this.#since.at) {
					const key = `${c.info.publisherId}:${c.info.kind}`;
					// A video stream new since then counts from its first keyframe (what a decoder waits for).
					const decodable = c.info.kind !== 'video' || c.createdAt < this.#since.at || isVp8KeyframeStart(rtp.payload);
					if (decodable && !this.#since.first.has(key)) this.#since.first.set(key, now);
				}
				c.packets++;
				c.bytes += rtp.payload.length;
				c.seq.push(rtp.header.sequenceNumber);
				if (c.info.kind === 'video' && isVp8KeyframeStart(rtp.payload)) {
					c.keyframes++;
					if (this.timing.firstKeyframeMs === undefined) this.timing.firstKeyframeMs = now - this.#t0;
				}
				if (latency) {
					const sent = sentAt.get(c.latencyStream)?.get(payloadKey(rtp.payload));
					if (sent !== undefined) latency.add(now - sent);
				}
			});
		}
	}

	/**
	 * Ask for a keyframe of every video stream received (one RTCP PLI each), as a receiver
	 * does after a loss; sent many times over, it is a hostile receiver's keyframe storm.
	 */
	async requestKeyframes(): Promise<number> {
		const dtls = this.#recvPc?.dtlsTransports[0];
		if (!dtls) return 0;
		const video = [...this.#streams.values()].filter((c) => c.info.kind === 'video');
		const packets = video.map((c) => new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: c.info.ssrc }) }));
		if (packets.length > 0) await dtls.sendRtcp(packets);
		return packets.length;
	}

	/** Totals per kind over every stream received so far. */
	received(): { audio: StreamCounts; video: StreamCounts; streams: number; unknownPackets: number } {
		const zero = (): StreamCounts => ({ packets: 0, bytes: 0, lost: 0, expected: 0, keyframes: 0 });
		const out = { audio: zero(), video: zero(), streams: this.#streams.size, unknownPackets: this.#unknown };
		for (const c of this.#streams.values()) {
			const t = out[c.info.kind];
			t.packets += c.packets;
			t.bytes += c.bytes;
			t.lost += c.seq.lost;
			t.expected += c.seq.expected;
			t.keyframes += c.keyframes;
		}
		return out;
	}

	/** What this bot has sent so far. */
	sent(): { packets: number; bytes: number; keyframeRequests: number; keyframeRequestsDropped: number; framesSkipped: number } {
		return {
			packets: this.#pump?.packetsSent ?? 0,
			bytes: this.#pump?.bytesSent ?? 0,
			keyframeRequests: this.#pump?.keyframeRequests ?? 0,
			keyframeRequestsDropped: this.#pump?.keyframeRequestsDropped ?? 0,
			framesSkipped: this.#pump?.framesSkipped ?? 0,
		};
	}

	get publishing(): boolean {
		return this.#pump !== undefined;
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		if (this.#pump) removeTickable(this.#pump);
		await this.session?.close().catch(() => {});
		await Promise.all([this.#sendPc?.close(), this.#recvPc?.close()].map((p) => p?.catch(() => {})));
	}
}
