/**
 * The SFU's own domain types. The SFU knows nothing of sockets or of the wire protocol;
 * the signaling layer maps these to the protocol's objects (signaling/handlers/wire.ts).
 */

export type MediaKind = 'audio' | 'video';
/** What a producer carries, from the user's point of view. */
export type MediaSource = 'camera' | 'microphone' | 'screen' | 'screen-audio';

export type QualityLevel = 'good' | 'fair' | 'poor' | 'unknown';

/** A participant's connection quality as the SFU measures their media. */
export interface QualityReport {
	peerId: string;
	quality: QualityLevel;
	/** Round-trip time of the peer's transports (ms). */
	rttMs: number | null;
	/** Packet loss of the peer's uplink (percent). */
	lossPercent: number | null;
	/** The peer's uplink bitrate into the SFU (kbps). */
	sendKbps: number;
	/** mediasoup's score of the peer's streams (0-10, lowest). */
	score: number | null;
}
