/** What a Publisher is made of: its source's spec, an effect on its track, and its context in the room client. */
import type { types as msc } from 'mediasoup-client';
import type { SignalingSession } from './SignalingSession.ts';
import type { TransportManager } from './TransportManager.ts';
import type { Epoch } from './marks.ts';
import type { LocalProducer } from './types.ts';

export type PublishedSource = 'microphone' | 'camera' | 'screen';

export interface PublisherSpec {
	source: PublishedSource;
	/** Off pauses the producer and keeps the track (microphone) instead of closing both. */
	pauseWhenOff: boolean;
	/** Capture a new track (from a device when given); null when the person cancelled (e.g. the screen picker). */
	acquire(deviceId?: string): Promise<MediaStreamTrack | null>;
	/** Encodings, codec options and codec for this source. */
	produceOptions(): Pick<msc.ProducerOptions, 'encodings' | 'codecOptions' | 'codec'>;
	/** Tuning once the producer exists (e.g. the degradation preference). */
	afterProduce?(producer: LocalProducer): void;
	/** A capture device (camera, microphone): switchable, and replaced by another one when it disappears. */
	device?: { kind: 'audioinput' | 'videoinput'; noun: 'camera' | 'microphone' };
}

/** Turns a captured track into the one that is sent and previewed (e.g. the background effect). */
export interface TrackEffect {
	/** The processed track for this input (the same one for every input: switching devices keeps it). */
	attach(track: MediaStreamTrack): MediaStreamTrack;
	/** The input is gone (camera off): the processed track ends; a later attach makes a new one. */
	detach(): void;
	/** Stop for good. */
	close(): void;
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
	/**
	 * The highest simulcast encoding a new video producer of this source starts with (what
	 * dynacast last asked of this source, e.g. before a move); undefined: all of them.
	 */
	startLayer?(source: PublishedSource): number | undefined;
}
