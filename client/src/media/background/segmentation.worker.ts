/**
 * The background effect's worker: camera frames in (a VideoFrame stream from the page's
 * MediaStreamTrackProcessor), composited frames out (to its MediaStreamTrackGenerator).
 * Everything per frame happens here, so the page (React, Socket.IO's heartbeat) never waits.
 *
 * The model is MediaPipe's selfie segmentation (landscape, 256×144 input; the .tflite from
 * the npm package `@mediapipe/selfie_segmentation`) run on the CPU by a small TensorFlow
 * Lite WebAssembly runtime with XNNPACK (client/vendor/tflite/). It runs at most ~15 times a
 * second and never more than half of the worker's time (`nextModelRunAt`); frames in
 * between reuse the last mask. Until the first mask, the whole frame is blurred: the sharp
 * background is never sent by accident.
 */
import {
	classifyEffectError,
	coverRect,
	EffectError,
	fillInput,
	FrameMeter,
	nextModelRunAt,
	processingSize,
	writeMask,
} from './background.ts';
import { MODEL_FILE, RUNTIME_FILE, type EffectMode, type FromWorker, type ToWorker } from './protocol.ts';

interface TfliteModule {
	HEAPU8: Uint8Array;
	HEAPF32: Float32Array;
	_getModelBufferMemoryOffset(): number;
	_getInputMemoryOffset(): number;
	_getOutputMemoryOffset(): number;
	_getInputWidth(): number;
	_getInputHeight(): number;
	_getOutputChannelCount(): number;
	_loadModel(size: number): number;
	_runInference(): number;
}

interface WorkerScope {
	onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
	postMessage(message: FromWorker): void;
	importScripts(...urls: string[]): void;
	createTFLiteSIMDModule?: (options: { locateFile(path: string): string }) => Promise<TfliteModule>;
	close(): void;
}

const scope = self as unknown as WorkerScope;
const START_TIMEOUT_MS = 20_000;
/** The background is blurred at this fraction of the frame's size, then scaled up. */
const BLUR_SCALE = 1 / 8;
const BLUR_PX = 2;

class Model {
	readonly #tflite: TfliteModule;
	readonly width: number;
	readonly height: number;
	readonly #input: OffscreenCanvasRenderingContext2D;
	readonly #maskData: ImageData;
	readonly mask: OffscreenCanvas;
	readonly #maskCtx: OffscreenCanvasRenderingContext2D;

	constructor(tflite: TfliteModule) {
		this.#tflite = tflite;
		this.width = tflite._getInputWidth();
		this.height = tflite._getInputHeight();
		this.#input = context(new OffscreenCanvas(this.width, this.height), true);
		this.mask = new OffscreenCanvas(this.width, this.height);
		this.#maskCtx = context(this.mask);
		this.#maskData = new ImageData(this.width, this.height);
	}

	static async load(base: string): Promise<Model> {
		try {
			scope.importScripts(`${base}${RUNTIME_FILE}`);
		} catch (error) {
			throw new EffectError('load-failed', String(error));
		}
		const create = scope.createTFLiteSIMDModule;
		if (!create) throw new EffectError('load-failed', 'the model runtime did not load');
		const [tflite, response] = await Promise.all([create({ locateFile: (path) => `${base}${path}` }), fetch(`${base}${MODEL_FILE}`)]);
		if (!response.ok) throw new EffectError('load-failed', `${MODEL_FILE}: HTTP ${response.status}`);
		const bytes = new Uint8Array(await response.arrayBuffer());
		tflite.HEAPU8.set(bytes, tflite._getModelBufferMemoryOffset());
		if (tflite._loadModel(bytes.byteLength) !== 0 || tflite._getOutputChannelCount() !== 1) throw new EffectError('load-failed', 'the model file is not the expected one');
		return new Model(tflite);
	}

	/** Segment one frame: the mask canvas (alpha = person) is updated. */
	run(frame: CanvasImageSource): void {
		const { width, height } = this;
		this.#input.drawImage(frame, 0, 0, width, height);
		const pixels = this.#input.getImageData(0, 0, width, height).data;
		const tflite = this.#tflite;
		fillInput(pixels, tflite.HEAPF32, tflite._getInputMemoryOffset() / 4, width * height);
		tflite._runInference();
		writeMask(tflite.HEAPF32, tflite._getOutputMemoryOffset() / 4, this.#maskData.data, width * height);
		this.#maskCtx.putImageData(this.#maskData, 0, 0);
	}
}

function context(canvas: OffscreenCanvas, readback = false): OffscreenCanvasRenderingContext2D {
	const ctx = canvas.getContext('2d', readback ? { willReadFrequently: true } : undefined);
	if (!ctx) throw new EffectError('unsupported', 'no 2D OffscreenCanvas');
	return ctx;
}

class Compositor {
	#mode: EffectMode = 'blur';
	#picture: ImageBitmap | null = null;
	#maxWidth = 640;
	#modelIntervalMs = 66;
	#model: Model | null = null;
	#hasMask = false;
	#reader: ReadableStreamDefaultReader<VideoFrame> | null = null;
	#writer: WritableStreamDefaultWriter<VideoFrame> | null = null;
	/** The camera frame, converted and scaled once; everything else is drawn from it. */
	readonly #frame = new OffscreenCanvas(2, 2);
	readonly #frameCtx = context(this.#frame);
	readonly #out = new OffscreenCanvas(2, 2);
	readonly #outCtx = context(this.#out);
	readonly #small = new OffscreenCanvas(2, 2);
	readonly #smallCtx = context(this.#small);
	readonly #frames = new FrameMeter();
	readonly #runs = new FrameMeter();
	#nextRun = 0;
	#lastRunStart = 0;
	#startMs: number | null = null;
	#closed = false;

	start(message: Extract<ToWorker, { type: 'start' }>): void {
		this.#mode = message.mode;
		this.#picture = message.picture;
		this.#maxWidth = message.maxWidth;
		this.#modelIntervalMs = message.modelIntervalMs;
		const begin = performance.now();
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new EffectError('timeout')), START_TIMEOUT_MS);
		});
		Promise.race([Model.load(message.base), timeout])
			.then((model) => {
				if (this.#closed) return;
				this.#model = model;
				this.#startMs = Math.round(performance.now() - begin);
				scope.postMessage({ type: 'ready', startMs: this.#startMs });
			})
			.catch((error: unknown) => {
				scope.postMessage({ type: 'error', reason: classifyEffectError(error), detail: String(error) });
			})
			.finally(() => clearTimeout(timer));
		setInterval(() => this.#report(), 1000);
	}

	set mode(mode: EffectMode) {
		this.#mode = mode;
	}

	set picture(picture: ImageBitmap | null) {
		this.#picture?.close();
		this.#picture = picture;
	}

	input(frames: ReadableStream<VideoFrame>): void {
		const old = this.#reader;
		this.#reader = frames.getReader();
		void old?.cancel().catch(() => {});
		void this.#pump(this.#reader);
	}

	output(frames: WritableStream<VideoFrame>): void {
		this.#writer = frames.getWriter();
	}

	close(): void {
		this.#closed = true;
		void this.#reader?.cancel().catch(() => {});
		void this.#writer?.close().catch(() => {});
		scope.close();
	}

	async #pump(reader: ReadableStreamDefaultReader<VideoFrame>): Promise<void> {
		while (!this.#closed && this.#reader === reader) {
			let result: ReadableStreamReadResult<VideoFrame>;
			try {
				result = await reader.read();
			} catch {
				return;
			}
			if (result.done) return;
			const frame = result.value;
			let out: VideoFrame | null = null;
			try {
				out = this.#process(frame);
			} catch (error) {
				console.warn('[parley] background frame failed', error);
			} finally {
				frame.close();
			}
			const writer = this.#writer;
			if (!out) continue;
			if (!writer) {
				out.close();
				continue;
			}
			try {
				await writer.write(out);
			} catch {
				out.close();
			}
		}
	}

	#process(frame: VideoFrame): VideoFrame {
		const start = performance.now();
		const size = processingSize(frame.displayWidth, frame.displayHeight, this.#maxWidth);
		this.#resize(size.width, size.height);
		const { width, height } = this.#out;
		this.#frameCtx.drawImage(frame, 0, 0, width, height);
		const image = this.#frame;
		const model = this.#model;
		let modelMs = 0;
		if (model && start >= this.#nextRun) {
			const begin = performance.now();
			model.run(image);
			const end = performance.now();
			modelMs = end - begin;
			this.#hasMask = true;
			this.#runs.record(begin, end);
			this.#lastRunStart = start;
			this.#nextRun = nextModelRunAt(this.#lastRunStart, modelMs, this.#modelIntervalMs);
		}
		const ctx = this.#outCtx;
		if (model && this.#hasMask) {
			ctx.globalCompositeOperation = 'copy';
			ctx.drawImage(model.mask, 0, 0, width, height);
			ctx.globalCompositeOperation = 'source-in';
			ctx.drawImage(image, 0, 0);
			ctx.globalCompositeOperation = 'destination-over';
			this.#background(image);
			ctx.globalCompositeOperation = 'source-over';
		} else {
			// No mask yet (or no model): all of it blurred, never the sharp background.
			ctx.globalCompositeOperation = 'copy';
			this.#blurred(image);
			ctx.globalCompositeOperation = 'source-over';
		}
		const out = new VideoFrame(this.#out, { timestamp: frame.timestamp });
		// The frame's own cost (the model's runs are counted apart).
		this.#frames.record(start, performance.now() - modelMs);
		return out;
	}

	#resize(width: number, height: number): void {
		if (this.#out.width === width && this.#out.height === height) return;
		this.#out.width = width;
		this.#out.height = height;
		this.#frame.width = width;
		this.#frame.height = height;
		this.#small.width = Math.max(2, Math.round(width * BLUR_SCALE));
		this.#small.height = Math.max(2, Math.round(height * BLUR_SCALE));
	}

	#background(frame: OffscreenCanvas): void {
		if (this.#mode === 'blur') return this.#blurred(frame);
		const ctx = this.#outCtx;
		const { width, height } = this.#out;
		const picture = this.#picture;
		if (!picture) {
			// The built-in picture: a calm gradient.
			const gradient = ctx.createLinearGradient(0, 0, width, height);
			gradient.addColorStop(0, '#3a6186');
			gradient.addColorStop(1, '#89253e');
			ctx.fillStyle = gradient;
			ctx.fillRect(0, 0, width, height);
			return;
		}
		const r = coverRect(picture.width, picture.height, width, height);
		ctx.drawImage(picture, r.x, r.y, r.width, r.height, 0, 0, width, height);
	}

	/** The frame blurred at an eighth of its size (a canvas blur filter), then scaled up: strong and cheap. */
	#blurred(frame: OffscreenCanvas): void {
		const small = this.#smallCtx;
		small.filter = `blur(${BLUR_PX}px)`;
		small.drawImage(frame, 0, 0, this.#small.width, this.#small.height);
		this.#outCtx.imageSmoothingEnabled = true;
		this.#outCtx.drawImage(this.#small, 0, 0, this.#out.width, this.#out.height);
	}

	#report(): void {
		if (this.#closed) return;
		const now = performance.now();
		const frames = this.#frames.summary(now);
		const runs = this.#runs.summary(now);
		scope.postMessage({
			type: 'stats',
			stats: {
				fps: frames.fps,
				msPerFrame: frames.msPerFrame,
				frames: frames.frames,
				modelFps: runs.fps,
				modelMs: runs.msPerFrame,
				startMs: this.#startMs,
				width: this.#out.width,
				height: this.#out.height,
			},
		});
	}
}

const compositor = new Compositor();
scope.onmessage = ({ data }) => {
	switch (data.type) {
		case 'start':
			return compositor.start(data);
		case 'input':
			return compositor.input(data.frames);
		case 'output':
			return compositor.output(data.frames);
		case 'mode':
			compositor.mode = data.mode;
			return;
		case 'picture':
			compositor.picture = data.picture;
			return;
		case 'close':
			return compositor.close();
	}
};
