/**
 * One local source (microphone, camera or screen) and its producer: capturing, publishing,
 * turning it on and off, switching its device. Changes of one source run one at a time (a
 * queue), and `busy` says a capture is under way (the UI disables the button meanwhile).
 *
 * A microphone is muted by pausing its producer (on both ends: the others see the muted
 * icon). Muting takes effect at once (the track is disabled, the button follows), even while
 * the producer is still being created; the server is told as soon as the producer exists.
 * A camera or screen is turned off by closing its producer and releasing the device.
 *
 * Switching a camera or microphone captures the new device and swaps it into the existing
 * producer (`replaceTrack`: no renegotiation, the others keep the same consumer). A device
 * that disappears mid-call (unplugged) is replaced by another one of its kind, and the
 * person is told which; with none left, the source turns off and says so.
 *
 * A camera may have an effect (the background blur): the producer and the preview then get
 * the effect's processed track, fed from the camera track; turning it on or off is a
 * `replaceTrack` too.
 */
import { describeTrack, otherDevice, stopTrack, type TrackDevice } from './devices.ts';
import { toRoomError } from './errors.ts';
import { mark } from './marks.ts';
import type { PublishedSource, PublisherContext, PublisherSpec, TrackEffect } from './publisherTypes.ts';
import type { LocalProducer, ProducerAppData } from './types.ts';

export class Publisher {
	readonly source: PublishedSource;
	readonly #spec: PublisherSpec;
	readonly #ctx: PublisherContext;
	#track: MediaStreamTrack | null;
	/** The device the person chose (used for the next capture); undefined: the system default. */
	#deviceId: string | undefined;
	#on: boolean;
	#producer: LocalProducer | null = null;
	/** What the server was last told about the producer (paused or not). */
	#serverPaused = false;
	#queue: Promise<void> = Promise.resolve();
	#busy = 0;
	#effect: TrackEffect | null = null;

	constructor(spec: PublisherSpec, ctx: PublisherContext, track: MediaStreamTrack | null, on: boolean, deviceId?: string) {
		this.source = spec.source;
		this.#spec = spec;
		this.#ctx = ctx;
		this.#deviceId = deviceId || undefined;
		this.#on = on && !!track;
		this.#track = track && (this.#on || spec.pauseWhenOff) ? track : null;
		if (track && !this.#track) stopTrack(track);
		if (this.#track && spec.pauseWhenOff) this.#track.enabled = this.#on;
		if (this.#track) this.#watchEnd(this.#track);
	}

	/** What is sent and previewed: the effect's processed track when there is one. */
	get track(): MediaStreamTrack | null {
		return this.#outgoing(this.#track);
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

	/** The device in use (the live track's), else the one chosen for the next capture. */
	get deviceId(): string | undefined {
		const live = this.#live(this.#track) ? this.#track.getSettings().deviceId : undefined;
		return live || this.#deviceId;
	}

	/** There is something to publish (a live track that is on, or a muted microphone). */
	wantsToSend(): boolean {
		return this.#publishable() !== null;
	}

	/** Publish in this session (queued behind other changes of this source). */
	publish(generation: number): Promise<void> {
		return this.#enqueue(() => this.#publish(generation), !this.#spec.pauseWhenOff);
	}

	/** Turn the source on or off (capturing again if its track has ended). */
	setEnabled(on: boolean): Promise<void> {
		if (this.#spec.pauseWhenOff && !this.#ctx.closed() && (!on || this.#live(this.#track))) {
			// Mute and unmute apply now, locally; the producer (maybe still being created) follows.
			if (this.#on !== on) {
				this.#on = on;
				if (this.#track) this.#track.enabled = on;
				this.#ctx.changed();
			}
			return this.#enqueue(() => this.#syncPaused(), false);
		}
		return this.#enqueue(async () => {
			if (this.#ctx.closed() || (on === this.#on && (!on || this.#live(this.#track)))) return;
			if (on) await this.#turnOn();
			else await this.#turnOff();
		});
	}

	/**
	 * Use another device. While the source is on (or a muted microphone) the new device is
	 * captured and swapped into the producer; otherwise it is used the next time it turns on.
	 */
	switchDevice(deviceId: string): Promise<void> {
		return this.#enqueue(async () => {
			if (this.#ctx.closed() || !this.#spec.device) return;
			this.#deviceId = deviceId || undefined;
			const current = this.#track;
			if (!this.#live(current) || (!this.#on && !this.#spec.pauseWhenOff)) {
				this.#ctx.changed();
				return;
			}
			if (deviceId && current.getSettings().deviceId === deviceId) return;
			const track = await this.#spec.acquire(deviceId || undefined);
			if (track) await this.#useTrack(track);
		}, false);
	}

	/**
	 * Use this effect (null: none) from now on: the producer's track is swapped (no
	 * renegotiation); the previous effect is closed.
	 */
	setEffect(effect: TrackEffect | null): Promise<void> {
		return this.#enqueue(async () => {
			const old = this.#effect;
			if (old === effect) return;
			this.#effect = this.#ctx.closed() ? null : effect;
			const producer = this.producer;
			const track = this.#outgoing(this.#publishable());
			if (producer && track && producer.track !== track) await producer.replaceTrack({ track });
			old?.close();
			this.#ctx.changed();
		}, false);
	}

	/**
	 * The session ended (reconnect or close): the producer is gone, the track stays. `closing`:
	 * its transport is about to close, which closes the producer (closing it here would
	 * renegotiate that connection first).
	 */
	reset(closing = false): void {
		if (!closing) this.#producer?.close();
		this.#producer = null;
		this.#serverPaused = false;
	}

	close(): void {
		this.reset();
		this.#effect?.close();
		this.#effect = null;
		stopTrack(this.#track);
		this.#track = null;
		this.#on = false;
	}

	#live(track: MediaStreamTrack | null): track is MediaStreamTrack {
		return !!track && track.readyState === 'live';
	}

	#outgoing(track: MediaStreamTrack | null): MediaStreamTrack | null {
		return track && this.#effect && this.#live(track) ? this.#effect.attach(track) : track;
	}

	#publishable(): MediaStreamTrack | null {
		return this.#live(this.#track) && (this.#on || this.#spec.pauseWhenOff) ? this.#track : null;
	}

	#enqueue(task: () => Promise<void>, busy = true): Promise<void> {
		if (busy) {
			this.#busy++;
			this.#ctx.changed();
		}
		const run = this.#queue.then(task).finally(() => {
			if (!busy) return;
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
		const options = this.#spec.produceOptions();
		// Start where dynacast had this source (a move): turning encodings off later reconfigures
		// the encoder, and the others' new consumers wait ~1-2 s for a keyframe meanwhile.
		const start = track.kind === 'video' ? this.#ctx.startLayer?.(this.source) : undefined;
		const limited = start !== undefined && (options.encodings?.length ?? 0) > start + 1;
		const producer = await transport.produce<ProducerAppData>({
			track: this.#outgoing(track) ?? track,
			...options,
			...(limited ? { encodings: options.encodings!.map((e, i) => ({ ...e, active: i <= start })) } : {}),
			stopTracks: false,
			appData: { source: this.source, paused, ...(dimensions ? { dimensions } : {}), ...(limited ? { maxSpatialLayer: start } : {}) },
		});
		if (limited) mark(`started-layers-${producer.rtpSender?.getParameters().encodings.filter((e) => e.active).length ?? '?'}`);
		if (!epoch.isCurrent(generation) || this.#track !== track) {
			producer.close();
			if (epoch.isCurrent(generation)) this.#closeOnServer(producer);
			return;
		}
		this.#producer = producer;
		this.#serverPaused = paused;
		this.#spec.afterProduce?.(producer);
		if (producer.kind === 'video') this.#ctx.produced(producer);
		// Muted or unmuted while the producer was being created: bring it (and the server) in line.
		if (this.#spec.pauseWhenOff) await this.#syncPaused();
	}

	async #turnOn(): Promise<void> {
		const { epoch } = this.#ctx;
		const generation = epoch.value;
		if (!this.#live(this.#track)) {
			if (this.#producer) this.#closeOnServer(this.#producer);
			this.reset();
			const track = await this.#spec.acquire(this.#deviceId);
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
		if (this.#producer) {
			await this.#syncPaused();
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

	/** Camera or screen off: the producer closes and the device is released. */
	async #turnOff(): Promise<void> {
		this.#on = false;
		const producer = this.#producer;
		if (this.#spec.pauseWhenOff) {
			if (this.#track) this.#track.enabled = false;
			this.#ctx.changed();
			await this.#syncPaused();
			return;
		}
		this.#producer = null;
		producer?.close();
		stopTrack(this.#track);
		this.#track = null;
		// The effect stops its processed track (and work) until the next capture.
		this.#effect?.detach();
		this.#ctx.changed();
		if (producer && this.#ctx.joined()) this.#closeOnServer(producer);
	}

	/** Make the producer's pause state, here and on the server, match on/off. */
	async #syncPaused(): Promise<void> {
		const producer = this.producer;
		if (!producer) return;
		const paused = !this.#on;
		if (paused && !producer.paused) producer.pause();
		if (!paused && producer.paused) producer.resume();
		if (this.#track) this.#track.enabled = this.#on;
		if (this.#serverPaused === paused || !this.#ctx.joined()) return;
		const generation = this.#ctx.epoch.value;
		try {
			await this.#ctx.signaling.request(paused ? 'media:pauseProducer' : 'media:resumeProducer', { producerId: producer.id });
			if (this.#ctx.epoch.isCurrent(generation) && this.#producer === producer) this.#serverPaused = paused;
		} catch (error) {
			if (!this.#ctx.epoch.isCurrent(generation) || this.#producer !== producer) return;
			// Never send sound the others think is muted: a failed unmute mutes again here.
			if (!paused) {
				this.#on = false;
				if (this.#track) this.#track.enabled = false;
				producer.pause();
				this.#ctx.changed();
			}
			throw error;
		}
	}

	/** Swap a new track in (into the producer too, without renegotiating) and release the old one. */
	async #useTrack(track: MediaStreamTrack): Promise<void> {
		if (this.#ctx.closed()) {
			track.stop();
			return;
		}
		const old = this.#track;
		if (this.#spec.pauseWhenOff) track.enabled = this.#on;
		const producer = this.producer;
		const outgoing = this.#outgoing(track) ?? track;
		if (producer && producer.track !== outgoing) {
			try {
				await producer.replaceTrack({ track: outgoing });
			} catch (error) {
				track.stop();
				throw error;
			}
			if (this.#spec.pauseWhenOff) track.enabled = this.#on;
		}
		this.#track = track;
		this.#watchEnd(track);
		if (old !== track) stopTrack(old);
		this.#ctx.changed();
	}

	#closeOnServer(producer: LocalProducer): void {
		this.#ctx.signaling.request('media:closeProducer', { producerId: producer.id }).catch((error: unknown) => {
			// Gone already (the session ended or the server closed it): nothing left to do.
			if (!this.#ctx.closed()) console.warn(`[parley] closing the ${this.source} producer failed`, error);
		});
	}

	/** The browser's own "Stop sharing", or an unplugged device. */
	#watchEnd(track: MediaStreamTrack): void {
		const was = describeTrack(track);
		track.addEventListener(
			'ended',
			() => {
				if (this.#track !== track || this.#ctx.closed()) return;
				if (this.#spec.device) void this.#enqueue(() => this.#replaceLost(track, was));
				else void this.setEnabled(false);
			},
			{ once: true },
		);
	}

	/** A camera or microphone went away: carry on with another one, or turn off; say which. */
	async #replaceLost(lost: MediaStreamTrack, was: TrackDevice): Promise<void> {
		const device = this.#spec.device;
		if (!device || this.#track !== lost || this.#ctx.closed()) return;
		const name = was.label ? ` (${was.label})` : '';
		let track: MediaStreamTrack | null = null;
		try {
			const other = await otherDevice(device.kind, was);
			track = await this.#spec.acquire(other?.deviceId);
		} catch {
			track = null;
		}
		if (track && this.#track === lost && !this.#ctx.closed()) {
			await this.#useTrack(track);
			this.#ctx.notice(`Your ${device.noun}${name} was disconnected. Now using ${track.label || `another ${device.noun}`}.`);
			return;
		}
		stopTrack(track);
		if (this.#track !== lost || this.#ctx.closed()) return;
		this.#ctx.notice(
			`Your ${device.noun}${name} was disconnected and no other ${device.noun} was found. Connect one, then turn the ${device.noun} on again.`,
		);
		await this.#turnOff();
	}
}

function trackDimensions(track: MediaStreamTrack): { width: number; height: number } | null {
	const { width, height } = track.getSettings();
	return width && height ? { width: Math.round(width), height: Math.round(height) } : null;
}
