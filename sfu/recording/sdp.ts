/**
 * The SDP file that tells ffmpeg what arrives on a loopback port: one media section
 * with the consumer's codec and payload type, RTP on `port`, RTCP (sender reports, for
 * timing) on `port + 1`.
 */
import type { types } from 'mediasoup';

export function recordingSdp(kind: 'audio' | 'video', rtpParameters: types.RtpParameters, port: number): string {
	const codec = rtpParameters.codecs[0];
	if (!codec) throw new TypeError('the consumer has no codec');
	const name = codec.mimeType.split('/')[1] ?? '';
	const channels = kind === 'audio' && codec.channels ? `/${codec.channels}` : '';
	const lines = [
		'v=0',
		'o=- 0 0 IN IP4 127.0.0.1',
		's=Parley recording',
		'c=IN IP4 127.0.0.1',
		't=0 0',
		`m=${kind} ${port} RTP/AVP ${codec.payloadType}`,
		`a=rtcp:${port + 1}`,
		// ffmpeg listens on every address: it takes packets from the worker (127.0.0.1) only.
		'a=source-filter: incl IN IP4 * 127.0.0.1',
		`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`,
	];
	const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${String(v)}`);
	if (fmtp.length > 0) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
	lines.push('a=recvonly', '');
	return lines.join('\r\n');
}

/** The container codec name ffprobe reports for a recorded track's codec. */
export function fileExtensionFor(rtpParameters: types.RtpParameters): 'webm' | 'mkv' {
	const mime = rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
	// WebM holds VP8, VP9 and Opus; anything else (H.264) goes in Matroska.
	return mime === 'video/vp8' || mime === 'video/vp9' || mime === 'audio/opus' ? 'webm' : 'mkv';
}

/** Header extensions that carry bandwidth estimation (transport-cc, REMB's abs-send-time). */
const BWE_EXTENSIONS = new Set(['http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time']);

/**
 * What a recording consumer is offered: the router's capabilities without bandwidth
 * estimation (no transport-cc or goog-remb feedback, no transport-wide-cc or abs-send-time
 * header extension). With them, mediasoup runs a congestion controller on the
 * PlainTransport; ffmpeg never answers it, so the estimate stays at the transport's initial
 * 600 kbps and the consumer is held below the top simulcast layer (~1 Mbps). Without them
 * the consumer takes its preferred layer whenever the publisher sends it.
 */
export function recordingCapabilities(caps: types.RtpCapabilities): types.RtpCapabilities {
	return {
		...caps,
		codecs: (caps.codecs ?? []).map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback ?? []).filter((fb) => fb.type !== 'transport-cc' && fb.type !== 'goog-remb') })),
		headerExtensions: (caps.headerExtensions ?? []).filter((h) => !BWE_EXTENSIONS.has(h.uri)),
	};
}
