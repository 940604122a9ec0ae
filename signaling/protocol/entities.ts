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
