/**
 * The others in the room and what they publish, as the server last said, and how React is
 * shown them: one RemoteParticipant per peer, with the tracks this client receives.
 */
import type { PeerInfo, PeerQuality, ProducerInfo } from '../../../signaling/protocol/index.ts';
import type { RemoteParticipant, RemoteVideo } from './types.ts';

interface PeerRecord {
	id: string;
	name: string;
	joinedAt: number;
	producers: Map<string, ProducerInfo>;
}

/** What this client receives of a producer (null: no open consumer of it). */
export interface ReceivedMedia {
	trackOf(producerId: string): MediaStreamTrack | null;
	videoOf(producerId: string): RemoteVideo | null;
}

export class RemotePeers {
	readonly #peers = new Map<string, PeerRecord>();

	name(peerId: string): string {
		return this.#peers.get(peerId)?.name ?? 'Guest';
	}

	/** A peer joined (or is announced again): its name, join time and producers. */
	join(peer: PeerInfo): void {
		let record = this.#peers.get(peer.id);
		if (!record) {
			record = { id: peer.id, name: peer.name, joinedAt: peer.joinedAt, producers: new Map() };
			this.#peers.set(peer.id, record);
		} else {
			record.name = peer.name;
			record.joinedAt = peer.joinedAt;
		}
		for (const producer of peer.producers) record.producers.set(producer.id, { ...producer });
	}

	/** A peer left: forgotten; the ids of the producers it had (null if it was not known). */
	leave(peerId: string): string[] | null {
		const record = this.#peers.get(peerId);
		if (!record) return null;
		this.#peers.delete(peerId);
		return [...record.producers.keys()];
	}

	addProducer(producer: ProducerInfo): void {
		let record = this.#peers.get(producer.peerId);
		if (!record) {
			// Should not happen (peer:joined comes first); keep the media anyway.
			record = { id: producer.peerId, name: 'Guest', joinedAt: Date.now(), producers: new Map() };
			this.#peers.set(producer.peerId, record);
		}
		record.producers.set(producer.id, { ...producer });
	}

	removeProducer(peerId: string, producerId: string): void {
		this.#peers.get(peerId)?.producers.delete(producerId);
	}

	/** Whether the producer's paused state changed (false if it is not known). */
	setPaused(peerId: string, producerId: string, paused: boolean): boolean {
		const producer = this.producer(peerId, producerId);
		if (!producer || producer.paused === paused) return false;
		producer.paused = paused;
		return true;
	}

	producer(peerId: string, producerId: string): ProducerInfo | undefined {
		return this.#peers.get(peerId)?.producers.get(producerId);
	}

	has(producer: Pick<ProducerInfo, 'id' | 'peerId'>): boolean {
		return this.#peers.get(producer.peerId)?.producers.has(producer.id) ?? false;
	}

	/** Every known producer of every peer. */
	producers(): ProducerInfo[] {
		return [...this.#peers.values()].flatMap((record) => [...record.producers.values()]);
	}

	/** The peers in join order, each with its microphone, camera and screen as received here. */
	participants(quality: ReadonlyMap<string, PeerQuality>, media: ReceivedMedia): RemoteParticipant[] {
		return [...this.#peers.values()]
			.sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id))
			.map((peer) => {
				const producers = [...peer.producers.values()];
				const mic = producers.find((p) => p.source === 'microphone') ?? producers.find((p) => p.kind === 'audio');
				const camera =
					producers.find((p) => p.source === 'camera' && !p.paused) ??
					producers.find((p) => p.kind === 'video' && p.source !== 'screen' && !p.paused);
				const screenProducer = producers.find((p) => p.source === 'screen' && !p.paused);
				const video = camera ? media.videoOf(camera.id) : null;
				return {
					id: peer.id,
					name: peer.name,
					joinedAt: peer.joinedAt,
					videoTrack: video?.track ?? null,
					videoConsumerId: video?.consumerId ?? null,
					videoLayers: video?.layers ?? null,
					audioTrack: mic ? media.trackOf(mic.id) : null,
					audioMuted: !mic || mic.paused,
					videoOn: !!video,
					screen: screenProducer ? media.videoOf(screenProducer.id) : null,
					quality: quality.get(peer.id) ?? null,
				};
			});
	}

	clear(): void {
		this.#peers.clear();
	}
}
