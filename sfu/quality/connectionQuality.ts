/**
 * A participant's connection quality as the SFU sees their media: mediasoup's stream
 * scores (which fold in loss and retransmissions), packet loss, RTT and jitter of what
 * they send, and the score of what they receive.
 */
import type { QualityLevel, QualityReport } from '../types.ts';
import type { Consumer, Peer } from '../Peer.ts';
import { logUnlessClosed } from '../log.ts';

export interface QualityInputs {
	/** Lowest score (0-10) of the peer's producers' streams and of its consumers; null when it has none. */
	score: number | null;
	lossPercent: number | null;
	rttMs: number | null;
	jitterMs: number | null;
}

/** good / fair / poor from the inputs; unknown when there is nothing to judge. */
export function classify({ score, lossPercent, rttMs, jitterMs }: QualityInputs): QualityLevel {
	if (score === null && lossPercent === null && rttMs === null) return 'unknown';
	const poor = (score !== null && score < 5) || (lossPercent ?? 0) > 10 || (rttMs ?? 0) > 500 || (jitterMs ?? 0) > 100;
	if (poor) return 'poor';
	const fair = (score !== null && score < 8) || (lossPercent ?? 0) > 3 || (rttMs ?? 0) > 250 || (jitterMs ?? 0) > 40;
	return fair ? 'fair' : 'good';
}

/** Measure one peer (a few getStats() round trips to its worker). */
export async function measurePeer(
	peer: Peer,
	/** The highest spatial layer a producer is asked to encode (dynacast; -1: none, undefined: all). */
	encodedUpTo: (producerId: string) => number | undefined = () => undefined,
): Promise<QualityReport> {
	let score: number | null = null;
	let lossPercent: number | null = null;
	let rttMs: number | null = null;
	let jitterMs: number | null = null;
	let sendKbps = 0;
	const lower = (a: number | null, b: number) => (a === null ? b : Math.min(a, b));
	const higher = (a: number | null, b: number) => (a === null ? b : Math.max(a, b));
	for (const producer of peer.producers.values()) {
		// Layers that dynacast switched off score 0 without anything being wrong: leave them out.
		const upTo = encodedUpTo(producer.id) ?? Infinity;
		for (const s of producer.score) if (s.encodingIdx <= upTo) score = lower(score, s.score);
		const stats = await producer.getStats().catch((err: unknown) => {
			logUnlessClosed(peer.log, producer, err, 'producer stats not read');
			return [];
		});
		for (const stat of stats) {
			lossPercent = higher(lossPercent, (stat.fractionLost / 256) * 100);
			sendKbps += stat.bitrate / 1000;
			// 0: not measured (no XR DLRR from the sender for this stream).
			if (stat.roundTripTime) rttMs = higher(rttMs, stat.roundTripTime);
			// jitter is in RTP timestamp units: 48 kHz audio, 90 kHz video.
			jitterMs = higher(jitterMs, (stat.jitter / (producer.kind === 'audio' ? 48 : 90)));
		}
	}
	let rttProbe: Consumer | undefined;
	for (const consumer of peer.consumers.values()) {
		if (!consumer.paused && !consumer.producerPaused) {
			score = lower(score, consumer.score.score);
			if (!rttProbe || (rttProbe.kind === 'video' && consumer.kind === 'audio')) rttProbe = consumer;
		}
	}
	// The round trip from the peer's receiver reports too: a producer's RTT needs the sender's
	// XR DLRR reports and stays 0 on some layers (e.g. the lowest one alone, the others turned
	// off), while receivers clients listen to use this RTT to size their playout delay.
	if (rttProbe) {
		const stats = await rttProbe.getStats().catch((err: unknown) => {
			logUnlessClosed(peer.log, rttProbe, err, 'consumer stats not read');
			return [];
		});
		for (const stat of stats) if (stat.type === 'outbound-rtp' && stat.roundTripTime) rttMs = higher(rttMs, stat.roundTripTime);
	}
	const inputs = { score, lossPercent, rttMs, jitterMs };
	return {
		peerId: peer.id,
		quality: classify(inputs),
		rttMs: rttMs === null ? null : Math.round(rttMs),
		lossPercent: lossPercent === null ? null : Math.round(lossPercent * 10) / 10,
		sendKbps: Math.round(sendKbps),
		score,
	};
}
