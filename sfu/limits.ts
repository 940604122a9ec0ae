/**
 * What one participant may create in the SFU. Defaults here; the server passes the
 * configured values (`limits.*`) through the room to each peer.
 */
export interface PeerLimits {
	/** WebRTC transports per direction (send, recv); the client needs one of each. */
	transportsPerDirection: number;
	/** Consumers of one producer held by one peer at once. */
	consumersPerProducer: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
	transportsPerDirection: 2,
	consumersPerProducer: 2,
};
