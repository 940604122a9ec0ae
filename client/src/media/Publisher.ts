/**
 * One local source (microphone, camera or screen) and its producer: capturing, publishing,
 * turning it on and off. Changes of one source run one at a time (a queue), and `busy`
 * says one is under way (the UI disables the button meanwhile).
 *
 * A microphone is muted by pausing its producer (on both ends: the others see the muted
 * icon); a camera or screen is turned off by closing its producer and releasing the device.
 */
import type { types as msc } from 'mediasoup-client';
import { stopTrack } from './devices.ts';
import { toRoomError } from './errors.ts';
import type { Epoch } from './marks.ts';
import type { SignalingSession } from './SignalingSession.ts';
import type { TransportManager } from './TransportManager.ts';
import type { LocalProducer, ProducerAppData } from './types.ts';

export type PublishedSource = 'microphone' | 'camera' | 'screen';

export interface PublisherSpec {
	source: PublishedSource;
	/** Off pauses the producer and keeps the track (microphone) instead of closing both. */
	pauseWhenOff: boolean;
	/** Capture a new track; null when the person cancelled (e.g. the screen picker). */
	acquire(): Promise<MediaStreamTrack | null>;
	/** Encodings, codec options and codec for this source. */
	produceOptions(): Pick<msc.ProducerOptions, 'encodings' | 'codecOptions' | 'codec'>;
	/** Tuning once the producer exists (e.g. the degradation preference). */
	afterProduce?(producer: LocalProducer): void;
	/** What to tell the person when the device stops working (nothing: it just turns off). */
	endedNotice?: string;
}

export interface PublisherContext {
	signaling: SignalingSession;
	transports: TransportManager;
	epoch: Epoch;
	/** In the room (media requests make sense). */
	joined(): boolean;
	closed(): boolean;
	changed(): void;
	notice(message: string): void;
	/** A new video producer: apply what dynacast asked for it. */
	produced(producer: LocalProducer): void;
}

export class Publisher {
	readonly source: PublishedSource;
	readonly #spec: PublisherSpec;
	readonly #ctx: PublisherContext;
	#track: MediaStreamTrack | null;
	#on: boolean;
	#producer: LocalProducer | null = null;
	#queue: Promise<void> = Promise.resolve();
	#busy = 0;

	constructor(spec: PublisherSpec, ctx: PublisherContext, track: MediaStreamTrack | null, on: boolean) {
		this.source = spec.source;
		this.#spec = spec;
		this.#ctx = ctx;
		this.#on = on && !!track;
		this.#track = track && (this.#on || spec.pauseWhenOff) ? track : null;
		if (track && !this.#track) stopTrack(track);
		if (this.#track && spec.pauseWhenOff) this.#track.enabled = this.#on;
		if (this.#track) this.#watchEnd(this.#track);
	}

	get track(): MediaStreamTrack | null {
		return this.#track;
	}

	get on(): boolean {
		return this.#on;
	}

	get busy(): boolean {
		return this.#busy > 0;
	}

	get producer(): LocalProducer | null {
		return this.#producer && !this.#producer.closed ? this.#producer : null;
	}

	/** There is something to publish (a live track that is on, or a muted microphone). */
	wantsToSend(): boolean {
		return this.#publishable() !== null;
	}

	/** Publish in this session (queued behind other changes of this source). */
	publish(generation: number): Promise<void> {
		return this.#enqueue(() => this.#publish(generation));
	}

	/** Turn the source on or off (capturing again if its track has ended). */
	setEnabled(on: boolean): Promise<void> {
		return this.#enqueue(async () => {
			if (this.#ctx.closed() || (on === this.#on && (!on || this.#live(this.#track)))) return;
			if (on) await this.#turnOn();
			else await this.#turnOff();
		});
	}

	/** The session ended (reconnect or close): the producer is gone, the track stays. */
	reset(): void {
		this.#producer?.close();
		this.#producer = null;
	}

	close(): void {
		this.reset();
		stopTrack(this.#track);
		this.#track = null;
		this.#on = false;
	}

	#live(track: MediaStreamTrack | null): track is MediaStreamTrack {
		return !!track && track.readyState === 'live';
	}

	#publishable(): MediaStreamTrack | null {
		return this.#live(this.#track) && (this.#on || this.#spec.pauseWhenOff) ? this.#track : null;
	}

	#enqueue(task: () => Promise<void>): Promise<void> {
		this.#busy++;
		this.#ctx.changed();
		const run = this.#queue.then(task).finally(() => {
			this.#busy--;
			if (!this.#ctx.closed()) this.#ctx.changed();
		});
		const settled = run.catch((error: unknown) => {
			if (!this.#ctx.closed()) this.#ctx.notice(toRoomError(error).message);
		});
		this.#queue = settled;
		return settled;
	}

	async #publish(generation: number): Promise<void> {
		const { epoch, transports } = this.#ctx;
		const track = this.#publishable();
		if (!track || this.#producer || !epoch.isCurrent(generation)) return;
		const transport = await transports.ensureSend();
		if (!epoch.isCurrent(generation) || this.#publishable() !== track) return;
		const paused = !this.#on;
		const dimensions = track.kind === 'video' ? trackDimensions(track) : null;
		const producer = await transport.produce<ProducerAppData>({
			track,
			...this.#spec.produceOptions(),
			stopTracks: false,
			appData: { source: this.source, paused, ...(dimensions ? { dimensions } : {}) },
		});
		if (!epoch.isCurrent(generation) || this.#track !== track) {
			producer.close();
			if (epoch.isCurrent(generation)) this.#closeOnServer(producer);
			return;
		}
		if (paused) producer.pause();
		this.#producer = producer;
		this.#spec.afterProduce?.(producer);
		producer.on('trackended', () => {
			if (this.#spec.endedNotice) this.#ctx.notice(this.#spec.endedNotice);
			void this.setEnabled(false);
		});
		if (producer.kind === 'video') this.#ctx.produced(producer);
	}

	async #turnOn(): Promise<void> {
		const { epoch } = this.#ctx;
		const generation = epoch.value;
		if (!this.#live(this.#track)) {
			if (this.#producer) this.#closeOnServer(this.#producer);
			this.reset();
			const track = await this.#spec.acquire();
			if (!track) return;
			if (this.#ctx.closed()) {
				track.stop();
				return;
			}
			stopTrack(this.#track);
			this.#track = track;
			this.#watchEnd(track);
		}
		this.#on = true;
		if (this.#spec.pauseWhenOff && this.#track) this.#track.enabled = true;
		this.#ctx.changed();
		if (!this.#ctx.joined() || !epoch.isCurrent(generation)) return; // applied when (re)joining
		const producer = this.#producer;
		if (producer) {
			await this.#setPaused(producer, false, generation);
			return;
		}
		const track = this.#track;
		try {
			await this.#publish(generation);
		} catch (error) {
			if (!this.#spec.pauseWhenOff && this.#track === track) {
				stopTrack(track);
				this.#track = null;
				this.#on = false;
			}
			throw error;
		}
	}

	async #turnOff(): Promise<void> {
		const generation = this.#ctx.epoch.value;
		this.#on = false;
		const producer = this.#producer;
		if (this.#spec.pauseWhenOff) {
			if (this.#track) this.#track.enabled = false;
			this.#ctx.changed();
			if (producer && this.#ctx.joined() && this.#ctx.epoch.isCurrent(generation)) await this.#setPaused(producer, true, generation);
			return;
		}
		this.#producer = null;
		producer?.close();
		stopTrack(this.#track);
		this.#track = null;
		this.#ctx.changed();
		if (producer && this.#ctx.joined()) this.#closeOnServer(producer);
	}

	/** Pause or resume on both ends; on failure, put the local state back in line with what the others see. */
	async #setPaused(producer: LocalProducer, paused: boolean, generation: number): Promise<void> {
		if (paused) producer.pause();
		else producer.resume();
		try {
			await this.#ctx.signaling.request(paused ? 'media:pauseProducer' : 'media:resumeProducer', { producerId: producer.id });
		} catch (error) {
			if (!this.#ctx.epoch.isCurrent(generation)) return;
			this.#on = paused;
			if (this.#track) this.#track.enabled = paused;
			if (paused) producer.resume();
			else producer.pause();
			throw error;
		}
	}

	#closeOnServer(producer: LocalProducer): void {
		this.#ctx.signaling.request('media:closeProducer', { producerId: producer.id }).catch((error: unknown) => {
			// Gone already (the session ended or the server closed it): nothing left to do.
			if (!this.#ctx.closed()) console.warn(`[parley] closing the ${this.source} producer failed`, error);
		});
	}

	/** The browser's own "Stop sharing" (or an unplugged device) turns the source off. */
	#watchEnd(track: MediaStreamTrack): void {
		if (this.#spec.pauseWhenOff) return;
		track.addEventListener('ended', () => {
			if (this.#track === track) void this.setEnabled(false);
		});
	}
}

function trackDimensions(track: MediaStreamTrack): { width: number; height: number } | null {
	const { width, height } = track.getSettings();
	return width && height ? { width: Math.round(width), height: Math.round(height) } : null;
}

