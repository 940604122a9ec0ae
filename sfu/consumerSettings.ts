/** How every consumer of this SFU is made: a peer's (Peer.consume) and one prepared in the lobby (PreparedReceive). */
import type { types } from 'mediasoup';
import { ConsumerViews, type ViewedProducer } from './layers/ConsumerViews.ts';
import type { ConsumerAppData, Producer } from './peerTypes.ts';

export function consumerSettings(
	consumerPeerId: string,
	producer: Producer,
	viewed: ViewedProducer,
	rtpCapabilities: types.RtpCapabilities,
): types.ConsumerOptions<ConsumerAppData> {
	const layers = ConsumerViews.initialLayers(viewed);
	return {
		producerId: producer.id,
		rtpCapabilities,
		// Paused until the client is ready for its media (a resume, or the join that adopts it).
		paused: true,
		// Retransmit audio too (mediasoup does it for video only by default): under loss
		// on the subscriber's link it more than halves concealment.
		enableRtx: true,
		...(layers ? { preferredLayers: layers } : {}),
		appData: { peerId: consumerPeerId, producerPeerId: producer.appData.peerId, source: producer.appData.source },
	};
}
