/**
 * Camera track → worker (segmentation, compositing) → processed track, with Chromium's
 * insertable streams: a MediaStreamTrackProcessor turns the camera into a stream of
 * VideoFrames that is handed to the worker, and the worker writes its frames into a
 * MediaStreamTrackGenerator, which is the track sent and previewed. The page does nothing
 * per frame, so a slow model never blocks it (nor the signaling heartbeat).
 *
 * `attach(camera)` returns the processed track at once (the same one while the camera
 * stays on: a device switch only changes its input). Until the model is ready the whole
 * frame is blurred; if it cannot start, `onError` says why (the owner goes back to the
 * plain camera).
 */
import type { TrackEffect } from '../publisherTypes.ts';
import { EffectError, type EffectErrorReason } from './background.ts';
import { BACKGROUND_ASSETS, type EffectMode, type FromWorker, type ToWorker, type WorkerStats } from './protocol.ts';

/** Wider cameras are processed (and sent) at this width while the effect is on: the cost grows with the pixels. */
const MAX_WIDTH = 640;
/**
 * The worker is fed at most this many frames a second: each frame passes through the page's
 * thread on its way in and out (Chromium's MediaStreamTrackProcessor and Generator live on
 * the page), so fewer frames keep the page freer; the model cannot keep up with more here.
 */
const MAX_FPS = 15;
/** The model runs at most this often (~15 times a second); frames in between reuse its last mask. */
const MODEL_INTERVAL_MS = 66;

interface InsertableStreams {
	MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => { readable: ReadableStream<VideoFrame> };
	MediaStreamTrackGenerator: new (init: { kind: 'video' }) => MediaStreamTrack & { writable: WritableStream<VideoFrame> };
}

function insertableStreams(): InsertableStreams | null {
	const g = globalThis as unknown as Partial<InsertableStreams>;
	return g.MediaStreamTrackProcessor && g.MediaStreamTrackGenerator && typeof Worker !== 'undefined'
		? { MediaStreamTrackProcessor: g.MediaStreamTrackProcessor, MediaStreamTrackGenerator: g.MediaStreamTrackGenerator }
		: null;
}

export interface BackgroundProcessorOptions {
	/** The model could not start (called at most once). */
	onError(reason: EffectErrorReason): void;
}

export interface ProcessorStats extends WorkerStats {
	mode: EffectMode;
	/** The model is running (false while it loads, or after it failed). */
	ready: boolean;
}

export class BackgroundProcessor implements TrackEffect {
	#mode: EffectMode;
	readonly #options: BackgroundProcessorOptions;
	readonly #streams: InsertableStreams;
	readonly #worker: Worker;
	#camera: MediaStreamTrack | null = null;
	#output: (MediaStreamTrack & { writable: WritableStream<VideoFrame> }) | null = null;
	#ready = false;
	#failed = false;
	#stats: WorkerStats | null = null;
	/** The clone of the camera that the worker reads. */
	#input: MediaStreamTrack | null = null;
	#closed = false;

	/** Throws an EffectError('unsupported') where the browser lacks insertable streams or workers. */
	constructor(mode: EffectMode, picture: ImageBitmap | null, options: BackgroundProcessorOptions) {
		const streams = insertableStreams();
		if (!streams) throw new EffectError('unsupported');
		this.#streams = streams;
		this.#mode = mode;
		this.#options = options;
		this.#worker = new Worker(new URL('./segmentation.worker.ts', import.meta.url), { name: 'parley-background' });
		this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#onMessage(event.data);
		this.#worker.onerror = (event) => {
			event.preventDefault();
			this.#fail('load-failed', event.message);
		};
		this.#post({ type: 'start', base: BACKGROUND_ASSETS, mode, picture, maxWidth: MAX_WIDTH, modelIntervalMs: MODEL_INTERVAL_MS });
	}

	get mode(): EffectMode {
		return this.#mode;
	}

	setMode(mode: EffectMode): void {
		this.#mode = mode;
		this.#post({ type: 'mode', mode });
	}

	/** The picture behind the person in `image` mode (null: the built-in one). */
	setPicture(picture: ImageBitmap | null): void {
		this.#post({ type: 'picture', picture });
	}

	attach(camera: MediaStreamTrack): MediaStreamTrack {
		if (this.#closed) throw new Error('BackgroundProcessor closed');
		if (!this.#output || this.#output.readyState === 'ended') {
			const output = new this.#streams.MediaStreamTrackGenerator({ kind: 'video' });
			output.contentHint = 'motion';
			this.#output = output;
			this.#camera = null;
			this.#post({ type: 'output', frames: output.writable }, [output.writable]);
		}
		if (this.#camera !== camera) {
			this.#camera = camera;
			// The worker reads a clone: when its stream ends (effect off, camera switched),
			// Chromium stops that clone, never the camera the call goes on with.
			this.#input?.stop();
			const input = camera.clone();
			this.#input = input;
			this.#captureSmall(input);
			// A small buffer: when the worker is late, old frames are dropped, not queued.
			const { readable } = new this.#streams.MediaStreamTrackProcessor({ track: input, maxBufferSize: 2 });
			this.#post({ type: 'input', frames: readable }, [readable]);
		}
		return this.#output;
	}

	detach(): void {
		this.#input?.stop();
		this.#input = null;
		this.#output?.stop();
		this.#output = null;
		this.#camera = null;
	}

	stats(): ProcessorStats | null {
		return this.#stats && { ...this.#stats, mode: this.#mode, ready: this.#ready };
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.detach();
		this.#post({ type: 'close' });
		// The worker closes itself once its streams are done; make sure it goes.
		setTimeout(() => this.#worker.terminate(), 1000);
	}

	/**
	 * The effect works at most MAX_WIDTH wide and MAX_FPS: its clone of the camera asks for that
	 * (the browser scales and drops frames before handing them out, cheaply) instead of the
	 * worker converting larger frames. The camera track itself keeps its size and rate.
	 */
	#captureSmall(input: MediaStreamTrack): void {
		const { width, height } = input.getSettings();
		const smaller = width && height && width > MAX_WIDTH ? { width: { ideal: MAX_WIDTH }, height: { ideal: Math.round((MAX_WIDTH * height) / width) } } : {};
		input.applyConstraints({ ...input.getConstraints(), ...smaller, frameRate: { max: MAX_FPS } }).catch(() => {});
	}

	#post(message: ToWorker, transfer: Transferable[] = []): void {
		this.#worker.postMessage(message, transfer);
	}

	#onMessage(message: FromWorker): void {
		if (this.#closed) return;
		if (message.type === 'ready') this.#ready = true;
		else if (message.type === 'stats') this.#stats = message.stats;
		else this.#fail(message.reason, message.detail);
	}

	#fail(reason: EffectErrorReason, detail: string): void {
		if (this.#failed || this.#closed) return;
		this.#failed = true;
		console.warn('[parley] background effect unavailable:', reason, detail);
		this.#options.onError(reason);
	}
}
