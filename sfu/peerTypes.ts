/** The data a Peer keeps on its mediasoup objects, where it lives, what it needs and what it tells (Peer.ts). */
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaSource } from './types.ts';
import type { PeerLimits } from './limits.ts';

export type Direction = 'send' | 'recv';
export type TransportAppData = { direction: Direction; connecting?: boolean };
export type ProducerAppData = {
	peerId: string;
	source: MediaSource;
	dimensions: { width: number; height: number };
	/** Simulcast: the publisher started with its encodings up to this one only (absent: all). */
	startLayer?: number;
};
export type ConsumerAppData = { peerId: string; producerPeerId: string; source: MediaSource };
export type Producer = types.Producer<ProducerAppData>;
export type Consumer = types.Consumer<ConsumerAppData>;

/** Where a peer's media lives: one router of its room, on one worker. */
export interface PeerPlacement {
	router: types.Router;
	webRtcServer: types.WebRtcServer;
	/** The worker's index in the pool. */
	workerIndex: number;
}

export interface PeerContext extends PeerPlacement {
	initialOutgoingBitrate: number;
	/** Floor under the send estimate of receive transports (bps; 0: none). */
	minOutgoingBitrate: number;
	/** Least time between two keyframe requests to one of this peer's video producers (ms; 0: none). */
	keyFrameRequestDelayMs: number;
	logger: Logger;
	limits?: PeerLimits;
	/**
	 * Called before consuming a producer (of any router of the room) on this peer's router:
	 * the room pipes it here if needed. Returns a function to call once the consumer exists.
	 */
	beforeConsume?: (producer: Producer, placement: PeerPlacement) => Promise<() => void>;
}

export type PeerEvents = {
	close: [];
	newproducer: [producer: Producer];
	producerclose: [producer: Producer];
	producerpause: [producer: Producer];
	producerresume: [producer: Producer];
	/** A consumer closed because its producer (or the producer's peer) went away. */
	consumerclose: [consumer: Consumer];
	/** What this peer needs of a producer changed (viewport, pause, a consumer closed): dynacast input. */
	demandchange: [producerId: string];
	/** The layers a consumer of this peer receives changed. */
	consumerlayers: [consumer: Consumer, layers: types.ConsumerLayers | undefined];
	/** This peer's media was moved to another worker (relocate): its client must set it up again there. */
	moved: [workerIndex: number];
};
