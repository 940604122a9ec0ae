/**
 * Turns two consecutive getStats() samples of the send and receive transports into the
 * figures of the stats panel: bitrates, RTT, loss, jitter, frame rates, resolutions and
 * the layer received per remote video. Pure bookkeeping; no DOM.
 */
import type { ConsumerDescription, ConsumerLayers } from './RoomClient.ts';

type Entry = Record<string, unknown> & { id: string; type: string; timestamp: number };

export interface OutboundVideo {
	rid: string;
	width: number;
	height: number;
	fps: number;
	kbps: number;
	active: boolean;
	/** Why the encoder sends less than asked ('bandwidth', 'cpu', 'none'). */
	limitation: string;
}

export interface InboundVideo {
	peerName: string;
	source: string;
	width: number;
	height: number;
	fps: number;
	kbps: number;
	lossPercent: number;
	freezes: number;
	layers: ConsumerLayers | null;
	jitterBufferMs: number | null;
}

export interface InboundAudio {
	peerName: string;
	kbps: number;
	lossPercent: number;
	jitterMs: number;
	concealedPercent: number;
	jitterBufferMs: number | null;
}

/** How a transport reaches the SFU: straight over UDP or TCP, or relayed by a TURN server (over UDP, TCP or TLS). */
export interface MediaPath {
	kind: 'udp' | 'tcp' | 'relay';
	/** For a relayed path: how we reach the TURN server. */
	relayProtocol: 'udp' | 'tcp' | 'tls' | null;
}

export interface StatsSummary {
	/** The path of the send transport, else of the receive transport (null before ICE connects). */
	path: MediaPath | null;
	send: {
		kbps: number;
		rttMs: number | null;
		/** The browser's bandwidth estimate for sending. */
		availableKbps: number | null;
		/** Loss the SFU reports for what we send (remote-inbound-rtp). */
		lossPercent: number | null;
		video: OutboundVideo[];
	};
	recv: {
		kbps: number;
		rttMs: number | null;
		lossPercent: number | null;
		video: InboundVideo[];
		audio: InboundAudio[];
	};
}

function entries(report: RTCStatsReport | null): Map<string, Entry> {
	const out = new Map<string, Entry>();
	report?.forEach((e: Entry) => out.set(e.id, e));
	return out;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function rate(cur: Entry, prev: Entry | undefined, field: string): number {
	if (!prev) return 0;
	const dt = (cur.timestamp - prev.timestamp) / 1000;
	return dt > 0 ? Math.max(0, (num(cur[field]) - num(prev[field])) / dt) : 0;
}

function selectedPair(stats: Map<string, Entry>): Entry | undefined {
	for (const e of stats.values()) {
		if (e.type === 'transport' && typeof e.selectedCandidatePairId === 'string') {
			const pair = stats.get(e.selectedCandidatePairId);
			if (pair) return pair;
		}
	}
	for (const e of stats.values()) if (e.type === 'candidate-pair' && e.nominated && e.state === 'succeeded') return e;
	return undefined;
}

/** The path of a transport's selected candidate pair, from its local candidate. */
export function pathOf(stats: Map<string, Entry>): MediaPath | null {
	const pair = selectedPair(stats);
	const local = pair ? stats.get(String(pair.localCandidateId ?? '')) : undefined;
	if (!local) return null;
	if (local.candidateType === 'relay') {
		const rp = local.relayProtocol;
		return { kind: 'relay', relayProtocol: rp === 'udp' || rp === 'tcp' || rp === 'tls' ? rp : null };
	}
	return { kind: local.protocol === 'tcp' ? 'tcp' : 'udp', relayProtocol: null };
}

/** "UDP", "TCP", "relayed (TURN over TLS)". */
export function describePath(path: MediaPath | null): string {
	if (!path) return '–';
	if (path.kind === 'relay') return `relayed (TURN${path.relayProtocol ? ` over ${path.relayProtocol.toUpperCase()}` : ''})`;
	return path.kind.toUpperCase();
}

export class StatsSampler {
	private prevSend = new Map<string, Entry>();
	private prevRecv = new Map<string, Entry>();

	sample(sendReport: RTCStatsReport | null, recvReport: RTCStatsReport | null, consumers: readonly ConsumerDescription[]): StatsSummary {
		const send = entries(sendReport);
		const recv = entries(recvReport);
		const byTrack = new Map(consumers.map((c) => [c.trackId, c]));

		// ---- sending
		const sendPair = selectedPair(send);
		let sendBits = 0;
		const video: OutboundVideo[] = [];
		let remoteLost = 0;
		let remoteExpected = 0;
		for (const e of send.values()) {
			if (e.type === 'outbound-rtp') {
				const prev = this.prevSend.get(e.id);
				const bps = rate(e, prev, 'bytesSent') * 8;
				sendBits += bps;
				if (e.kind === 'video') {
					video.push({
						rid: typeof e.rid === 'string' ? e.rid : '',
						width: num(e.frameWidth),
						height: num(e.frameHeight),
						fps: Math.round(prev ? rate(e, prev, 'framesEncoded') : num(e.framesPerSecond)),
						kbps: Math.round(bps / 1000),
						active: e.active !== false,
						limitation: typeof e.qualityLimitationReason === 'string' ? e.qualityLimitationReason : 'none',
					});
				}
			} else if (e.type === 'remote-inbound-rtp') {
				const prev = this.prevSend.get(e.id);
				if (prev) {
					remoteLost += Math.max(0, num(e.packetsLost) - num(prev.packetsLost));
					const local = send.get(String(e.localId ?? ''));
					const localPrev = this.prevSend.get(String(e.localId ?? ''));
					if (local && localPrev) remoteExpected += Math.max(0, num(local.packetsSent) - num(localPrev.packetsSent));
				}
			}
		}
		video.sort((a, b) => a.rid.localeCompare(b.rid));

		// ---- receiving
		const recvPair = selectedPair(recv);
		let recvBits = 0;
		let lostTotal = 0;
		let receivedTotal = 0;
		const inVideo: InboundVideo[] = [];
		const inAudio: InboundAudio[] = [];
		for (const e of recv.values()) {
			if (e.type !== 'inbound-rtp') continue;
			// Only media someone sees: not mediasoup's bandwidth probe (mid "probator").
			const consumer = byTrack.get(String(e.trackIdentifier ?? ''));
			if (!consumer) continue;
			const prev = this.prevRecv.get(e.id);
			const bps = rate(e, prev, 'bytesReceived') * 8;
			recvBits += bps;
			const received = prev ? num(e.packetsReceived) - num(prev.packetsReceived) : 0;
			const lost = prev ? Math.max(0, num(e.packetsLost) - num(prev.packetsLost)) : 0;
			lostTotal += lost;
			receivedTotal += received;
			const lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
			if (e.kind === 'video') {
				inVideo.push({
					peerName: consumer.peerName,
					source: consumer.source,
					width: num(e.frameWidth),
					height: num(e.frameHeight),
					fps: Math.round(prev ? rate(e, prev, 'framesDecoded') : num(e.framesPerSecond)),
					kbps: Math.round(bps / 1000),
					lossPercent: round1(lossPercent),
					freezes: num(e.freezeCount),
					layers: consumer.layers,
					jitterBufferMs: consumer.jitterBufferTargetMs,
				});
			} else {
				const samples = prev ? num(e.totalSamplesReceived) - num(prev.totalSamplesReceived) : 0;
				const concealed = prev ? num(e.concealedSamples) - num(prev.concealedSamples) : 0;
				inAudio.push({
					peerName: consumer.peerName,
					kbps: Math.round(bps / 1000),
					lossPercent: round1(lossPercent),
					jitterMs: Math.round(num(e.jitter) * 1000),
					concealedPercent: samples > 0 ? round1((100 * concealed) / samples) : 0,
					jitterBufferMs: consumer.jitterBufferTargetMs,
				});
			}
		}
		inVideo.sort((a, b) => a.peerName.localeCompare(b.peerName) || a.source.localeCompare(b.source));
		inAudio.sort((a, b) => a.peerName.localeCompare(b.peerName));

		this.prevSend = send;
		this.prevRecv = recv;
		const rtt = (pair: Entry | undefined): number | null =>
			pair && typeof pair.currentRoundTripTime === 'number' ? Math.round(pair.currentRoundTripTime * 1000) : null;
		return {
			path: pathOf(send) ?? pathOf(recv),
			send: {
				kbps: Math.round(sendBits / 1000),
				rttMs: rtt(sendPair),
				availableKbps:
					sendPair && typeof sendPair.availableOutgoingBitrate === 'number' ? Math.round(sendPair.availableOutgoingBitrate / 1000) : null,
				lossPercent: remoteExpected > 0 ? round1((100 * remoteLost) / remoteExpected) : sendReport ? 0 : null,
				video,
			},
			recv: {
				kbps: Math.round(recvBits / 1000),
				rttMs: rtt(recvPair),
				lossPercent: receivedTotal + lostTotal > 0 ? round1((100 * lostTotal) / (receivedTotal + lostTotal)) : recvReport ? 0 : null,
				video: inVideo,
				audio: inAudio,
			},
		};
	}
}

function round1(v: number): number {
	return Math.round(v * 10) / 10;
}
