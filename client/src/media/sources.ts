/**
 * The three local sources as Publisher specs: how each is captured and encoded
 * (encodings.ts has the figures) and tuned once published.
 */
import type { Device, types as msc } from 'mediasoup-client';
import { getDisplayTrack, getTrack } from './devices.ts';
import {
	cameraCodecOptions,
	cameraSimulcastEncodings,
	cameraSvcEncodings,
	micCodecOptions,
	SCREEN_CODEC_OPTIONS,
	screenEncodings,
} from './encodings.ts';
import { mediaError } from './errors.ts';
import type { PublisherSpec } from './publisherTypes.ts';
import { tuning } from './tuning.ts';
import type { LocalProducer } from './types.ts';

export interface SourceContext {
	device(): Device | null;
	/** The room's video codec preference (null before joining). */
	videoCodec(): 'vp8' | 'vp9' | null;
}

/** VP9 SVC when the room asks for it and this browser can send L3T3_KEY, VP8 simulcast otherwise. */
function videoCodec(ctx: SourceContext): { codec: msc.RtpCodecCapability | undefined; svc: boolean } {
	const codecs = ctx.device()?.rtpCapabilities.codecs ?? [];
	const find = (mime: string) => codecs.find((c) => c.mimeType.toLowerCase() === mime);
	if (ctx.videoCodec() === 'vp9') {
		const vp9 = find('video/vp9');
		if (vp9 && canSendSvc('video/VP9', 'L3T3_KEY')) return { codec: vp9, svc: true };
	}
	return { codec: find('video/vp8'), svc: false };
}

export function microphone(): PublisherSpec {
	return {
		source: 'microphone',
		pauseWhenOff: true,
		acquire: (deviceId) => getTrack('audio', deviceId).catch((error: unknown) => Promise.reject(mediaError(error))),
		produceOptions: () => ({ codecOptions: micCodecOptions() }),
		device: { kind: 'audioinput', noun: 'microphone' },
	};
}

export function camera(ctx: SourceContext): PublisherSpec {
	return {
		source: 'camera',
		pauseWhenOff: false,
		acquire: (deviceId) => getTrack('video', deviceId).catch((error: unknown) => Promise.reject(mediaError(error))),
		produceOptions: () => {
			const { codec, svc } = videoCodec(ctx);
			return { encodings: svc ? cameraSvcEncodings() : cameraSimulcastEncodings(), codecOptions: cameraCodecOptions(), ...(codec ? { codec } : {}) };
		},
		// A camera keeps its frame rate and gives up resolution when bits are short (a face at
		// a lower resolution beats a slide show).
		afterProduce: (producer) => {
			const degradation = tuning().cameraDegradation;
			if (degradation) void setDegradationPreference(producer, degradation);
		},
		device: { kind: 'videoinput', noun: 'camera' },
	};
}

export function screen(ctx: SourceContext): PublisherSpec {
	return {
		source: 'screen',
		pauseWhenOff: false,
		acquire: async () => {
			try {
				return await getDisplayTrack();
			} catch (error) {
				// Cancelling the browser's picker is not an error worth a notice.
				if (error instanceof DOMException && error.name === 'NotAllowedError') return null;
				throw mediaError(error);
			}
		},
		produceOptions: () => {
			const { codec } = videoCodec(ctx);
			return { encodings: screenEncodings(), codecOptions: SCREEN_CODEC_OPTIONS, ...(codec ? { codec } : {}) };
		},
		// Text must stay readable: fewer frames rather than fewer pixels.
		afterProduce: (producer) => void setDegradationPreference(producer, 'maintain-resolution'),
	};
}

/** Whether this browser can send a codec with a scalability mode (Chromium lists them). */
function canSendSvc(mimeType: string, mode: string): boolean {
	const codecs = (typeof RTCRtpSender !== 'undefined' && RTCRtpSender.getCapabilities?.('video')?.codecs) || [];
	const codec = codecs.find((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase()) as
		| (RTCRtpCodec & { scalabilityModes?: string[] })
		| undefined;
	return !!codec && (!codec.scalabilityModes || codec.scalabilityModes.includes(mode));
}

async function setDegradationPreference(producer: LocalProducer, preference: RTCDegradationPreference): Promise<void> {
	const sender = producer.rtpSender;
	if (!sender) return;
	try {
		const parameters = sender.getParameters();
		if (parameters.degradationPreference === preference) return;
		await sender.setParameters({ ...parameters, degradationPreference: preference });
	} catch {
		// Not supported by every browser; the default (balanced) is fine too.
	}
}
