/**
 * The pure parts of the background effect: the modes, where a background picture is cut
 * to cover the frame, the size the effect works at, when the model runs again, the
 * model's input and output (pixels ↔ tensors), the cost meter, and the plain words for why
 * the effect could not start. No DOM here (unit-tested in Node).
 */

export type BackgroundMode = 'none' | 'blur' | 'image';

export const BACKGROUND_MODES: readonly BackgroundMode[] = ['none', 'blur', 'image'];

export function parseBackgroundMode(raw: string | null | undefined): BackgroundMode {
	return BACKGROUND_MODES.find((m) => m === raw) ?? 'none';
}

export function describeBackgroundMode(mode: BackgroundMode): string {
	return mode === 'blur' ? 'Blur' : mode === 'image' ? 'Picture' : 'None';
}

/** The part of a picture (source rectangle) that covers a frame without stretching it, centred. */
export function coverRect(
	imageWidth: number,
	imageHeight: number,
	frameWidth: number,
	frameHeight: number,
): { x: number; y: number; width: number; height: number } {
	if (imageWidth <= 0 || imageHeight <= 0 || frameWidth <= 0 || frameHeight <= 0) return { x: 0, y: 0, width: imageWidth, height: imageHeight };
	const scale = Math.max(frameWidth / imageWidth, frameHeight / imageHeight);
	const width = frameWidth / scale;
	const height = frameHeight / scale;
	return { x: (imageWidth - width) / 2, y: (imageHeight - height) / 2, width, height };
}

/** The size the effect works at: the camera's, at most `maxWidth` wide (even numbers, aspect kept). */
export function processingSize(width: number, height: number, maxWidth: number): { width: number; height: number } {
	if (width <= 0 || height <= 0) return { width: 0, height: 0 };
	const scale = Math.min(1, maxWidth / width);
	const even = (v: number): number => Math.max(2, Math.round((v * scale) / 2) * 2);
	return { width: even(width), height: even(height) };
}

/**
 * The model runs at most every `minIntervalMs`, and leaves the worker at least half of its
 * time for the frames (a run that took 80 ms waits 160 ms before the next): on a slow
 * machine the mask is older, the video stays smooth. Between runs the last mask is reused.
 */
export function nextModelRunAt(lastStart: number, lastCostMs: number, minIntervalMs: number): number {
	return lastStart + Math.max(minIntervalMs, 2 * lastCostMs);
}

/**
 * RGBA pixels (0–255) → the model's input tensor: RGB floats in [0, 1], row by row
 * (MediaPipe selfie segmentation, 256×144×3).
 */
export function fillInput(rgba: Uint8ClampedArray, input: Float32Array, offset: number, pixels: number): void {
	for (let i = 0; i < pixels; i++) {
		const p = i * 4;
		const t = offset + i * 3;
		input[t] = rgba[p]! / 255;
		input[t + 1] = rgba[p + 1]! / 255;
		input[t + 2] = rgba[p + 2]! / 255;
	}
}

/** The model's output (one person probability per pixel) → the mask's alpha (255: person). */
export function writeMask(output: Float32Array, offset: number, mask: Uint8ClampedArray, pixels: number): void {
	for (let i = 0; i < pixels; i++) mask[i * 4 + 3] = output[offset + i]! * 255;
}

export interface EffectStats {
	/** Mean time to composite one frame over the window (ms), null before the first. */
	msPerFrame: number | null;
	/** Frames produced per second over the window. */
	fps: number;
	/** Frames processed since the effect started. */
	frames: number;
}

/** Time per processed frame and frames per second over a sliding window (default 2 s). */
export class FrameMeter {
	readonly #windowMs: number;
	#entries: { end: number; cost: number }[] = [];
	#frames = 0;

	constructor(windowMs = 2000) {
		this.#windowMs = windowMs;
	}

	/** One frame, processed from `start` to `end` (performance.now() milliseconds). */
	record(start: number, end: number): void {
		this.#frames++;
		this.#entries.push({ end, cost: Math.max(0, end - start) });
		this.#trim(end);
	}

	summary(now: number): EffectStats {
		this.#trim(now);
		const n = this.#entries.length;
		const cost = n === 0 ? null : Math.round((this.#entries.reduce((s, e) => s + e.cost, 0) / n) * 10) / 10;
		return { msPerFrame: cost, fps: Math.round(((n * 1000) / this.#windowMs) * 10) / 10, frames: this.#frames };
	}

	reset(): void {
		this.#entries = [];
		this.#frames = 0;
	}

	#trim(now: number): void {
		const from = now - this.#windowMs;
		let drop = 0;
		while (drop < this.#entries.length && this.#entries[drop]!.end <= from) drop++;
		if (drop > 0) this.#entries.splice(0, drop);
	}
}

export type EffectErrorReason = 'unsupported' | 'wasm-blocked' | 'load-failed' | 'timeout' | 'unknown';

export class EffectError extends Error {
	readonly reason: EffectErrorReason;
	constructor(reason: EffectErrorReason, detail?: string) {
		super(detail ?? reason);
		this.name = 'EffectError';
		this.reason = reason;
	}
}

/** What went wrong, in words for the person (the camera keeps going without the effect). */
export function describeEffectError(reason: EffectErrorReason): string {
	switch (reason) {
		case 'unsupported':
			return 'this browser cannot process camera video (it lacks the insertable streams Parley uses; try Chrome or Edge)';
		case 'wasm-blocked':
			return 'this browser blocked the background model (WebAssembly is not allowed here)';
		case 'load-failed':
			return 'the background model could not be loaded from the server';
		case 'timeout':
			return 'the background model took too long to start';
		default:
			return 'the background model failed to start';
	}
}

/** Sort an error thrown while starting the model into a reason. */
export function classifyEffectError(error: unknown): EffectErrorReason {
	if (error instanceof EffectError) return error.reason;
	const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
	if (/CompileError|wasm-unsafe-eval|Refused to compile|WebAssembly/i.test(text)) return 'wasm-blocked';
	if (/fetch|network|load|404|importScripts/i.test(text)) return 'load-failed';
	return 'unknown';
}
