/**
 * What the client publishes: encodings and codec options of the camera, screen share and
 * microphone. The figures behind these choices are in e2e/simulcast.spec.ts and
 * e2e/loss.spec.ts (and the closing note).
 */
import type { types as msc } from 'mediasoup-client';
import { tuning } from './tuning.ts';

/**
 * Camera, VP8 simulcast: 1/4, 1/2 and full resolution of a 1280x720 capture (320x180,
 * 640x360, 1280x720), three temporal layers each (the SFU can halve or quarter the frame
 * rate, and frames of the top temporal layer are never referenced, so losing one costs
 * just that frame). The lowest layer runs at 15 fps: it is what thumbnails and a sender on
 * a bad link (whose bandwidth estimate collapses under loss) are left with, and at 30% loss
 * a steady 15 fps froze less than a 30 fps target the encoder could not hold (loss.spec.ts).
 */
export function cameraSimulcastEncodings(): msc.RtpEncodingParameters[] {
	return [
		{ scaleResolutionDownBy: 4, maxBitrate: 150_000, maxFramerate: tuning().lowLayerFps, scalabilityMode: 'L1T3' },
		{ scaleResolutionDownBy: 2, maxBitrate: 500_000, maxFramerate: 30, scalabilityMode: 'L1T3' },
		{ scaleResolutionDownBy: 1, maxBitrate: 1_500_000, maxFramerate: 30, scalabilityMode: 'L1T3' },
	];
}

/** Camera, VP9 SVC (mediasoup takes VP9 only as SVC): three spatial and three temporal layers. */
export function cameraSvcEncodings(): msc.RtpEncodingParameters[] {
	return [{ scalabilityMode: 'L3T3_KEY', maxBitrate: 1_800_000, maxFramerate: 30 }];
}

export function cameraCodecOptions(): msc.ProducerCodecOptions {
	// Start near the top layer's rate instead of ramping up from ~300 kbps for seconds.
	// (x-google-min-bitrate, tried as a floor against the estimate's collapse under random
	// loss, made no difference in Chromium 156.)
	return { videoGoogleStartBitrate: 1000 };
}

/**
 * Screen share: one encoding at the capture's resolution (up to 1920x1080), few frames per
 * second and a high bitrate, with temporal layers so the SFU can thin the frame rate for
 * a receiver that cannot take it all.
 */
export function screenEncodings(): msc.RtpEncodingParameters[] {
	return [{ maxBitrate: 2_500_000, maxFramerate: 15, scalabilityMode: 'L1T3', priority: 'high' }];
}

export const SCREEN_CODEC_OPTIONS: msc.ProducerCodecOptions = { videoGoogleStartBitrate: 1500 };

/**
 * Microphone: Opus mono, 20 ms frames, in-band FEC (recovers a single lost packet from the
 * next one; Chromium raises the redundancy as loss is reported), DTX (nothing sent in
 * silence), and NACK: the SFU asks this sender again for audio lost on the way in, and the
 * late packets are played when the receiver's buffer is deep enough (receiverTuning.ts).
 * mediasoup does not negotiate audio RED, so FEC + NACK is the resilience available. NACK
 * on the SFU → receiver leg also needs the server to create audio consumers with
 * `enableRtx: true` (mediasoup's default retransmits video only).
 */
export function micCodecOptions(): msc.ProducerCodecOptions {
	return {
		opusStereo: false,
		opusFec: tuning().opusFec,
		opusDtx: true,
		opusPtime: tuning().opusPtime,
		opusNack: tuning().opusNack,
		...(tuning().opusMaxAverageBitrate > 0 ? { opusMaxAverageBitrate: tuning().opusMaxAverageBitrate } : {}),
	};
}

/** How long (ms) to wait after a transport goes 'disconnected' before restarting ICE. */
export const ICE_DISCONNECTED_RESTART_MS = 2000;

/** Spatial layers of a consumer, from the scalability mode mediasoup gives it ("L3T3" for a 3-layer simulcast). */
export function spatialLayersOf(consumer: { rtpParameters: { encodings?: { scalabilityMode?: string }[] } } | undefined): number {
	const mode = consumer?.rtpParameters.encodings?.[0]?.scalabilityMode ?? '';
	return Number(/^[LS](\d+)/.exec(mode)?.[1] ?? 1);
}
