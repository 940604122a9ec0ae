/**
 * One recorded track: the producer's media goes from its router over a PlainTransport
 * (127.0.0.1, no comedia, RTCP on its own port as ffmpeg expects) to an ffmpeg process
 * that writes it to a file, never through Node.
 *
 * The track is written in parts: a new file when recording of the track (re)starts —
 * after the producer was paused (mute) and resumed, or after the recorder process died
 * (crash recovery: the old file stays playable, a new one starts). Each part starts with
 * the consumer paused until ffmpeg listens, then resumed with a keyframe request, so the
 * file begins with a decodable frame. Video takes the best simulcast layer; a layer
 * change asks for a keyframe.
 *
 * Sync: ffmpeg counts each file's time from its first packet. The RTP timestamp of that
 * packet (the consumer's 'rtp' trace, on for the first packet of each part only) and the
 * consumer's RTCP sender reports (SenderClock: the PlainTransport's RTCP goes to this
 * process) tell when the file's first frame was captured (`capturedAt`), on one clock for
 * everyone's audio and video: the Composer lines the files up by it. No report at all
 * before the part ends: `capturedAt` is null (the part is placed by its wall-clock start),
 * logged.
 *
 * close() is idempotent; it finishes the current file (`closed` resolves after that).
 */
import { EventEmitter } from 'node:events';
import { stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Producer } from '../Peer.ts';
import { FfmpegProcess } from './FfmpegProcess.ts';
import type { RtpPortPool } from './RtpPortPool.ts';
import { SenderClock, type SenderReport } from './SenderClock.ts';
import { fileExtensionFor, recordingCapabilities, recordingSdp } from './sdp.ts';

export interface TrackPart {
	/** File name, relative to the recording's folder. */
	file: string;
	peerId: string;
	name: string;
	source: string;
	kind: 'audio' | 'video';
	codec: string;
	/** Wall clock (ms since the epoch) when the part started and ended. */
	startedAt: number;
	endedAt: number;
	/**
	 * When the part's first frame was captured by the sender (ms since the epoch, the
	 * server's clock), from the consumer's RTCP sender reports; null when no report came.
	 */
	capturedAt: number | null;
	bytes: number;
	/** Why the part ended. */
	end: 'stopped' | 'paused' | 'crashed' | 'closed';
}

export interface TrackRecordingOptions {
	router: types.Router;
	producer: Producer;
	peerName: string;
	ports: RtpPortPool;
	/** The recording's folder. */
	dir: string;
	/** File name stem, unique in the recording (`03-alice-camera`). */
	stem: string;
	ffmpegPath: string;
	log: Logger;
	/** Restarts after crashes allowed per minute before the track gives up. */
	maxRestartsPerMinute?: number;
}

export type TrackRecordingEvents = {
	/** A file was finished (or left behind by a crash). */
	part: [part: TrackPart];
	/** The track is no longer recorded: its recorder process kept dying (close follows). */
	failed: [reason: string];
	close: [];
};

const RESTART_DELAY_MS = 300;
/** A capture time further than this from the first packet's arrival is not believed (ms). */
const MAX_CAPTURE_SKEW_MS = 5000;

export class TrackRecording extends EventEmitter<TrackRecordingEvents> {
	readonly producerId: string;
	readonly peerId: string;
	readonly closed: Promise<void>;
	readonly #options: TrackRecordingOptions;
	readonly #log: Logger;
	readonly #transport: types.PlainTransport;
	readonly #consumer: types.Consumer;
	/** The layers asked for and received (video), for stats and tests. */
	get layers(): { preferred: types.ConsumerLayers | undefined; current: types.ConsumerLayers | undefined } {
		return { preferred: this.#consumer.preferredLayers, current: this.#consumer.currentLayers };
	}

	readonly #port: number;
	readonly #clock: SenderClock;
	#process: FfmpegProcess | undefined;
	#partStartedAt = 0;
	/** The current part's first packet: its RTP timestamp and arrival (ms since the epoch). */
	#partFirst: { rtpTs: number; at: number } | undefined;
	#partCapturedAt: number | null = null;
	/** Whether `#partCapturedAt` comes from a report sent after the part's first packet. */
	#partCaptureFresh = false;
	#parts = 0;
	#restarts: number[] = [];
	#closing = false;
	#resolveClosed!: () => void;
	/** Serialises part starts and stops (pause/resume/crash can race). */
	#queue: Promise<void> = Promise.resolve();

	private constructor(options: TrackRecordingOptions, transport: types.PlainTransport, consumer: types.Consumer, port: number, clock: SenderClock) {
		super();
		this.#clock = clock;
		this.#options = options;
		this.producerId = options.producer.id;
		this.peerId = options.producer.appData.peerId;
		this.#log = options.log.child({ producerId: this.producerId, source: options.producer.appData.source });
		this.#transport = transport;
		this.#consumer = consumer;
		this.#port = port;
		this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
		consumer.observer.once('close', () => this.close());
		transport.observer.once('close', () => this.close());
		consumer.on('producerpause', () => this.#enqueue(() => this.#endPart('paused')));
		consumer.on('producerresume', () => this.#enqueue(() => this.#startPart()));
		consumer.on('trace', (trace) => {
			if (trace.type !== 'rtp' || this.#partFirst || !this.#process) return;
			const info = trace.info as { rtpPacket?: { timestamp?: number } } | undefined;
			const rtpTs = info?.rtpPacket?.timestamp;
			if (typeof rtpTs !== 'number') return;
			this.#partFirst = { rtpTs, at: Date.now() };
			void consumer.enableTraceEvent([]).catch((error: unknown) => this.#log.debug({ err: error }, 'could not stop the trace events (consumer closed?)'));
			// A report from before maps it for now (the part may end before the next one); the next one decides.
			if (this.#clock.last) this.#capture(this.#clock.last, false);
		});
		clock.on('report', (report) => this.#capture(report, true));
		clock.on('error', (err) => this.#log.warn({ err }, 'sender reports socket failed: capture times stop for this file'));
		consumer.on('layerschange', (layers) => {
			this.#log.debug({ layers }, 'recorded layer changed: asking for a keyframe');
			void consumer.requestKeyFrame().catch((error: unknown) => this.#log.debug({ err: error }, 'keyframe request failed (consumer closed?)'));
		});
	}

	static async create(options: TrackRecordingOptions): Promise<TrackRecording> {
		const { router, producer, ports } = options;
		const port = await ports.take();
		let transport: types.PlainTransport | undefined;
		let clock: SenderClock | undefined;
		try {
			const codec = producer.rtpParameters.codecs[0];
			clock = await SenderClock.open(codec?.clockRate ?? (producer.kind === 'audio' ? 48000 : 90000));
			transport = await router.createPlainTransport({
				listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
				rtcpMux: false,
				comedia: false,
				appData: { recording: true },
			});
			// RTP to ffmpeg; RTCP (the sender reports) to this process. ffmpeg's RTCP port only gets the BYE that ends its file.
			await transport.connect({ ip: '127.0.0.1', port, rtcpPort: clock.port });
			const encodings = producer.rtpParameters.encodings ?? [];
			const layered = producer.kind === 'video' && (encodings.length > 1 || encodings.some((e) => e.scalabilityMode));
			const consumer = await transport.consume({
				producerId: producer.id,
				// No bandwidth estimation: ffmpeg sends no feedback, and the estimate would hold the layer down.
				rtpCapabilities: recordingCapabilities(router.rtpCapabilities),
				paused: true,
				enableRtx: false,
				// The best layer there is (mediasoup keeps to what the producer sends).
				...(layered ? { preferredLayers: { spatialLayer: Math.max(encodings.length - 1, 2), temporalLayer: 2 } } : {}),
				appData: { recording: true },
			});
			const track = new TrackRecording(options, transport, consumer, port, clock);
			if (!producer.paused) track.#enqueue(() => track.#startPart());
			return track;
		} catch (error) {
			transport?.close();
			clock?.close();
			ports.release(port);
			throw error;
		}
	}

	/** The file being written now, if any. */
	get currentFile(): string | undefined {
		return this.#process ? path.basename(this.#process.outPath) : undefined;
	}

	/**
	 * Stop recording this track: the file in progress is finished. Idempotent. `end`: the
	 * recording was stopped, or the track went away (closed).
	 */
	close(end: 'stopped' | 'closed' = 'closed'): void {
		if (this.#closing) return;
		this.#closing = true;
		this.#enqueue(async () => {
			await this.#endPart(end);
			this.#transport.close();
			this.#clock.close();
			this.#options.ports.release(this.#port);
			this.emit('close');
			this.#resolveClosed();
			this.removeAllListeners();
		});
	}

	#enqueue(step: () => Promise<void>): void {
		this.#queue = this.#queue.then(step).catch((err: unknown) => this.#log.error({ err }, 'recording step failed'));
	}

	async #startPart(): Promise<void> {
		if (this.#closing || this.#process || this.#consumer.closed) return;
		const { producer, dir, stem, ffmpegPath } = this.#options;
		this.#parts++;
		const ext = fileExtensionFor(this.#consumer.rtpParameters);
		const base = `${stem}-${String(this.#parts).padStart(2, '0')}`;
		const sdpPath = path.join(dir, `${base}.sdp`);
		const outPath = path.join(dir, `${base}.${ext}`);
		if (!this.#consumer.paused) await this.#consumer.pause();
		await writeFile(sdpPath, recordingSdp(producer.kind, this.#consumer.rtpParameters, this.#port));
		const proc = new FfmpegProcess({ ffmpegPath, sdpPath, outPath, port: this.#port, log: this.#log });
		this.#process = proc;
		this.#partStartedAt = Date.now(); // until media flows (below)
		this.#partFirst = undefined;
		this.#partCapturedAt = null;
		this.#partCaptureFresh = false;
		proc.once('exit', (exit) => {
			void unlink(sdpPath).catch((error: unknown) => this.#log.warn({ err: error, file: path.basename(sdpPath) }, 'could not remove the recorder\'s SDP file'));
			if (!exit.crashed) return;
			this.#log.warn({ code: exit.code, signal: exit.signal, file: path.basename(outPath), stderr: exit.stderr.slice(-500) }, 'recorder process died');
			this.#enqueue(async () => {
				if (this.#process !== proc) return;
				await this.#finishPart(proc, 'crashed');
				if (this.#closing || producer.paused || producer.closed) return;
				if (!this.#mayRestart()) {
					this.#log.error('recorder process keeps dying: this track is no longer recorded');
					this.emit('failed', 'its recorder process keeps failing');
					this.close();
					return;
				}
				await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
				await this.#startPart();
			});
		});
		try {
			await proc.ready;
		} catch (err) {
			this.#log.error({ err }, 'recorder process did not start');
			return; // its exit handler restarts it (bounded) or gives up
		}
		if (this.#process !== proc || this.#closing || this.#consumer.closed) return;
		// The first packet the part gets tells its RTP timestamp (the trace goes off again after it).
		await this.#consumer.enableTraceEvent(['rtp']);
		await this.#consumer.resume();
		this.#partStartedAt = Date.now();
		if (producer.kind === 'video') await this.#consumer.requestKeyFrame();
		this.#log.info({ file: path.basename(outPath), pid: proc.pid }, 'recording track');
	}

	async #endPart(end: TrackPart['end']): Promise<void> {
		const proc = this.#process;
		if (!proc) return;
		// The part ends now: ffmpeg, which may take a while to finish the file on a busy machine,
		// gets no media captured after this (media keeps flowing until it has the RTCP BYE, so
		// the file keeps the last frames).
		const endedAt = Date.now();
		await proc.stop();
		await this.#finishPart(proc, end, endedAt);
	}

	async #finishPart(proc: FfmpegProcess, end: TrackPart['end'], endedAt = Date.now()): Promise<void> {
		if (this.#process !== proc) return;
		this.#process = undefined;
		const { producer, peerName } = this.#options;
		const capturedAt = this.#partCapturedAt;
		const bytes = await stat(proc.outPath).then((s) => s.size, () => 0);
		if (bytes === 0) {
			// ffmpeg writes the header once it knows the stream: nothing came, nothing to keep.
			await unlink(proc.outPath).catch((error: unknown) => this.#log.warn({ err: error, file: path.basename(proc.outPath) }, 'could not remove an empty recorded part'));
			return;
		}
		// How the part will be placed in the composed file: by its capture time, or (no sender report came) its wall-clock start.
		this.#log.info({ file: path.basename(proc.outPath), end, sync: capturedAt === null ? 'wall-clock' : 'sender-report', bytes }, 'recorded part finished');
		this.emit('part', {
			file: path.basename(proc.outPath),
			peerId: this.peerId,
			name: peerName,
			source: producer.appData.source,
			kind: producer.kind,
			codec: this.#consumer.rtpParameters.codecs[0]?.mimeType ?? '',
			startedAt: this.#partStartedAt,
			capturedAt,
			endedAt,
			bytes,
			end,
		});
	}

	/**
	 * The part's first frame's capture time, by the latest sender report since its first
	 * packet (until one comes, the one before). The latest, because mediasoup can tell
	 * capture times only once it has a few of the sender's own reports (until then its
	 * reports give arrival times: a recording started as someone joins, or resumed on a
	 * new worker), and because a simulcast layer switch may move the consumer's timestamps
	 * on by a frame: the report after it places the rest of the file right.
	 */
	#capture(report: SenderReport, fresh: boolean): void {
		const first = this.#partFirst;
		if (!first || (this.#partCaptureFresh && !fresh)) return;
		const at = this.#clock.captureTime(first.rtpTs, report);
		if (at === undefined) return;
		if (Math.abs(at - first.at) > MAX_CAPTURE_SKEW_MS) {
			this.#log.warn({ skewMs: Math.round(at - first.at) }, 'sender report far from the arrival time: not used to place this part');
			return;
		}
		this.#partCapturedAt = Math.round(at * 10) / 10;
		this.#partCaptureFresh = fresh;
	}

	#mayRestart(): boolean {
		const now = Date.now();
		this.#restarts = this.#restarts.filter((t) => now - t < 60_000);
		this.#restarts.push(now);
		return this.#restarts.length <= (this.#options.maxRestartsPerMinute ?? 5);
	}
}
