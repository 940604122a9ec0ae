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
