/**
 * The router's media codecs, in one place. Order matters: the first video codec is
 * what mediasoup-client picks by default (VP8, simulcast-friendly).
 */
import type { types } from 'mediasoup';

/**
 * The router's codecs with a floor under the publishers' video send estimate
 * (`x-google-min-bitrate`, kbps, which mediasoup-client puts in the answer to the browser).
 */
export function routerCodecs(options: { videoMinBitrateKbps: number }): types.RouterRtpCodecCapability[] {
	if (options.videoMinBitrateKbps <= 0) return mediaCodecs;
	return mediaCodecs.map((c) =>
		c.kind === 'video' ? { ...c, parameters: { ...c.parameters, 'x-google-min-bitrate': options.videoMinBitrateKbps } } : c,
	);
}

export const mediaCodecs: types.RouterRtpCodecCapability[] = [
	{
		kind: 'audio',
		mimeType: 'audio/opus',
		clockRate: 48000,
		channels: 2,
		// In-band FEC and DTX on, stereo off; the client asks for the same in its codecOptions.
		parameters: { useinbandfec: 1, usedtx: 1, 'sprop-stereo': 0 },
	},
	{
		kind: 'video',
		mimeType: 'video/VP8',
		clockRate: 90000,
		parameters: { 'x-google-start-bitrate': 1000 },
	},
	{
		kind: 'video',
		mimeType: 'video/VP9',
		clockRate: 90000,
		parameters: { 'profile-id': 0, 'x-google-start-bitrate': 1000 },
	},
	{
		kind: 'video',
		mimeType: 'video/H264',
		clockRate: 90000,
		parameters: {
			'packetization-mode': 1,
			'profile-level-id': '42e01f',
			'level-asymmetry-allowed': 1,
			'x-google-start-bitrate': 1000,
		},
	},
];
