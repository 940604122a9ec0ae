/**
 * werift PeerConnections as the bots use them: VP8 + Opus only, the MID header
 * extension, host candidates on one local address only (loopback or the bots' end of a
 * veth pair), and a few SDP helpers.
 */
import type { types as msc } from 'mediasoup-client';
import { RTCPeerConnection, RTCRtpCodecParameters, useSdesMid } from 'werift';

export const VIDEO_PT = 96;
export const AUDIO_PT = 111;
export const MID_EXT_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const MID_EXT_ID = 1;

export function createPeerConnection(localAddress: string): RTCPeerConnection {
	const mid = useSdesMid();
	mid.id = MID_EXT_ID;
	return new RTCPeerConnection({
		codecs: {
			video: [
				new RTCRtpCodecParameters({
					mimeType: 'video/VP8',
					clockRate: 90000,
					payloadType: VIDEO_PT,
					rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
				}),
			],
			audio: [
				new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: AUDIO_PT }),
			],
		},
		headerExtensions: { video: [mid], audio: [mid] },
		iceUseIpv6: false,
		iceUseTcp: false,
		iceInterfaceAddresses: { udp4: localAddress },
		iceAdditionalHostAddresses: [localAddress],
		// werift also gathers the machine's other interface addresses (sockets bound to
		// localAddress anyway); only pairs from localAddress are ever checked.
		iceFilterCandidatePair: (pair) => pair.protocol.localCandidate?.host === localAddress,
		bundlePolicy: 'max-bundle',
	});
}

/** Drop candidates of any other address from an SDP before it goes to an SFU. */
export function onlyCandidatesOf(sdp: string, address: string): string {
	return sdp
		.split('\r\n')
		.filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === address)
		.join('\r\n');
}

export function localFingerprint(sdp: string): msc.DtlsFingerprint {
	const m = /a=fingerprint:(\S+) (\S+)/.exec(sdp);
	if (!m) throw new Error('no fingerprint in local SDP');
	return { algorithm: m[1] as msc.FingerprintAlgorithm, value: m[2]! };
}

export function localSetupRole(sdp: string): string {
	return /a=setup:(\w+)/.exec(sdp)?.[1] ?? 'active';
}

/** Resolves when the connection is connected; rejects on failure or after timeoutMs. */
export function waitConnected(pc: RTCPeerConnection, timeoutMs = 15_000): Promise<void> {
	if (pc.connectionState === 'connected') return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			sub.unSubscribe();
			reject(new Error(`not connected within ${timeoutMs} ms (${pc.connectionState})`));
		}, timeoutMs);
		const sub = pc.connectionStateChange.subscribe((state) => {
			if (state === 'connected') {
				clearTimeout(timer);
				sub.unSubscribe();
				resolve();
			} else if (state === 'failed' || state === 'closed') {
				clearTimeout(timer);
				sub.unSubscribe();
				reject(new Error(`connection ${state}`));
			}
		});
	});
}

/** (kind, mid, first SSRC) of every m-section of an SDP that has both. */
export function sdpSsrcs(sdp: string): { kind: string; mid: string; ssrc: number }[] {
	const out: { kind: string; mid: string; ssrc: number }[] = [];
	for (const section of sdp.split(/\r?\nm=/).slice(1)) {
		const kind = section.slice(0, section.indexOf(' '));
		const mid = /a=mid:(\S+)/.exec(section)?.[1];
		const ssrc = /a=ssrc:(\d+)/.exec(section)?.[1];
		if (mid && ssrc) out.push({ kind, mid, ssrc: Number(ssrc) });
	}
	return out;
}

/** Wait for ICE gathering to finish so the SDP carries the candidates (no trickle). */
export async function gathered(pc: RTCPeerConnection, timeoutMs = 5000): Promise<void> {
	if (pc.iceGatheringState === 'complete') return;
	await new Promise<void>((resolve) => {
		const timer = setTimeout(() => {
			sub.unSubscribe();
			resolve();
		}, timeoutMs);
		const sub = pc.iceGatheringStateChange.subscribe((s) => {
			if (s === 'complete') {
				clearTimeout(timer);
				sub.unSubscribe();
				resolve();
			}
		});
	});
}
