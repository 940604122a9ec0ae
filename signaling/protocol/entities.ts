/** Plain data about room members, as clients see them. */
import type { MediaKind, MediaSource } from './media.ts';

export interface ProducerInfo {
	id: string;
	peerId: string;
	kind: MediaKind;
	source: MediaSource;
	paused: boolean;
}

export interface PeerInfo {
	/** The identity from the join token; stable across reconnects. */
	id: string;
	name: string;
	joinedAt: number;
	producers: ProducerInfo[];
}

export type QualityLevel = 'good' | 'fair' | 'poor' | 'unknown';

export interface PeerQuality {
	peerId: string;
	quality: QualityLevel;
	/** Round-trip time of the peer's transports as the SFU measures it (ms). */
	rttMs: number | null;
	/** Packet loss of the peer's uplink as the SFU sees it (percent). */
	lossPercent: number | null;
	/** The peer's uplink bitrate into the SFU (kbps). */
	sendKbps: number;
	/** mediasoup's score of the peer's producers (0-10, lowest). */
	score: number | null;
}

/** A TURN server and the time-limited credential minted for this client (RTCIceServer). */
export interface IceServer {
	urls: string[];
	username: string;
	credential: string;
}
