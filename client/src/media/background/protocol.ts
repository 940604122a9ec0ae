/** Messages between the page and the background worker (segmentation.worker.ts). */
import type { EffectErrorReason } from './background.ts';

export type EffectMode = 'blur' | 'image';

/** Where Parley serves the model and its runtime (copied into the build by client/vite.config.ts). */
export const BACKGROUND_ASSETS = '/background/';
export const MODEL_FILE = 'selfie_segmentation_landscape.tflite';
export const RUNTIME_FILE = 'tflite-simd.js';

export type ToWorker =
	| { type: 'start'; base: string; mode: EffectMode; picture: ImageBitmap | null; maxWidth: number; modelIntervalMs: number }
	/** Frames to process (a new camera after a device switch) and where the results go. */
	| { type: 'input'; frames: ReadableStream<VideoFrame> }
	| { type: 'output'; frames: WritableStream<VideoFrame> }
	| { type: 'mode'; mode: EffectMode }
	| { type: 'picture'; picture: ImageBitmap | null }
	| { type: 'close' };

export interface WorkerStats {
	/** Frames written per second, and the mean time to make one (ms), over the last 2 s. */
	fps: number;
	msPerFrame: number | null;
	frames: number;
	/** Model runs per second and their mean time (ms). */
	modelFps: number;
	modelMs: number | null;
	/** Milliseconds the model took to load. */
	startMs: number | null;
	width: number;
	height: number;
}

export type FromWorker =
	| { type: 'ready'; startMs: number }
	| { type: 'error'; reason: EffectErrorReason; detail: string }
	| { type: 'stats'; stats: WorkerStats };
