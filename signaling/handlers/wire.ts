/**
 * The SFU speaks its own domain types (sfu/types.ts, its Peer/Producer objects); this is
 * the one place where they become the protocol's wire objects.
 */
import type { types } from 'mediasoup';
import type { Consumer, Peer, Producer, QualityReport, Room } from '../../sfu/index.ts';
import type { ConsumerOptions, IceServer, PeerInfo, PeerQuality, ProducerInfo, TransportOptions } from '../protocol/index.ts';

export function producerInfo(producer: Producer): ProducerInfo {
	return {
		id: producer.id,
		peerId: producer.appData.peerId,
		kind: producer.kind,
		source: producer.appData.source,
		paused: producer.paused,
	};
}

export function peerInfo(peer: Peer): PeerInfo {
	return { id: peer.id, name: peer.name, joinedAt: peer.joinedAt, producers: [...peer.producers.values()].map(producerInfo) };
}

/** Everyone in the room but `except` (the joining peer itself). */
export function peerInfos(room: Room, except?: string): PeerInfo[] {
	return [...room.peers.values()].filter((p) => p.id !== except).map(peerInfo);
}

export function peerQuality(q: QualityReport): PeerQuality {
	return { peerId: q.peerId, quality: q.quality, rttMs: q.rttMs, lossPercent: q.lossPercent, sendKbps: q.sendKbps, score: q.score };
}

export function transportOptions(transport: types.WebRtcTransport, iceServers: IceServer[]): TransportOptions {
	return {
		id: transport.id,
		iceParameters: transport.iceParameters,
		iceCandidates: transport.iceCandidates,
		dtlsParameters: transport.dtlsParameters,
		iceServers,
	};
}

export function consumerOptions(consumer: Consumer, producer: Producer): ConsumerOptions {
	return {
		id: consumer.id,
		producerId: producer.id,
		peerId: producer.appData.peerId,
		kind: consumer.kind,
		source: producer.appData.source,
		rtpParameters: consumer.rtpParameters,
		producerPaused: consumer.producerPaused,
	};
}
