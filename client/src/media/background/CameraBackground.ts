/**
 * The camera's background effect in a call: the chosen mode (remembered for the next
 * visit, like the devices), the processor that makes it, and its hand-over to the camera
 * Publisher (a replaceTrack: no renegotiation, the others keep their consumer). When the
 * model cannot start, the person is told why and the plain camera goes on.
 */
import { save } from '../../lib/storage.ts';
import type { Publisher } from '../Publisher.ts';
import { classifyEffectError, describeEffectError, type BackgroundMode, type EffectErrorReason } from './background.ts';
import { BackgroundProcessor, type ProcessorStats } from './BackgroundProcessor.ts';
import { backgroundPicture, onBackgroundPicture } from './picture.ts';

export interface CameraBackgroundContext {
	notice(message: string): void;
	changed(): void;
}

export class CameraBackground {
	readonly #camera: Publisher;
	readonly #ctx: CameraBackgroundContext;
	#mode: BackgroundMode = 'none';
	#processor: BackgroundProcessor | null = null;
	readonly #unsubscribe: () => void;
	#closed = false;

	constructor(camera: Publisher, mode: BackgroundMode, ctx: CameraBackgroundContext) {
		this.#camera = camera;
		this.#ctx = ctx;
		this.#unsubscribe = onBackgroundPicture((picture) => this.#processor?.setPicture(picture));
		void this.#apply(mode);
	}

	get mode(): BackgroundMode {
		return this.#mode;
	}

	/** Frames per second and cost of the processed track (null without an effect). */
	stats(): ProcessorStats | null {
		return this.#processor?.stats() ?? null;
	}

	/** Choose blur, a picture or nothing (remembered for the next visit). */
	set(mode: BackgroundMode): Promise<void> {
		save('background', mode);
		return this.#apply(mode);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#unsubscribe();
		this.#processor = null; // the Publisher closes its effect
		this.#mode = 'none';
	}

	async #apply(mode: BackgroundMode): Promise<void> {
		if (this.#closed || mode === this.#mode) return;
		this.#mode = mode;
		this.#ctx.changed();
		if (mode === 'none') {
			this.#processor = null;
			await this.#camera.setEffect(null);
			return;
		}
		if (this.#processor) {
			this.#processor.setMode(mode);
			return;
		}
		let processor: BackgroundProcessor;
		try {
			processor = new BackgroundProcessor(mode, backgroundPicture(), { onError: (reason) => this.#failed(processor, mode, reason) });
		} catch (error) {
			this.#tell(mode, classifyEffectError(error));
			this.#mode = 'none';
			this.#ctx.changed();
			return;
		}
		this.#processor = processor;
		await this.#camera.setEffect(processor);
	}

	#failed(processor: BackgroundProcessor, mode: BackgroundMode, reason: EffectErrorReason): void {
		if (this.#processor !== processor || this.#closed) return;
		this.#tell(mode, reason);
		// This session goes on without it; the choice stays remembered for the next visit.
		this.#processor = null;
		this.#mode = 'none';
		void this.#camera.setEffect(null);
	}

	#tell(mode: BackgroundMode, reason: EffectErrorReason): void {
		this.#ctx.notice(`${mode === 'blur' ? 'Background blur' : 'The background picture'} is not available: ${describeEffectError(reason)}. Your camera is shown as it is.`);
	}
}
