/**
 * A room's active speaker. The active speaker observer on the room's main router
 * (RoomRouters) hears every microphone, wherever its peer is (again after the main router
 * changed); the dominant speaker's video gets bandwidth before other videos.
 *
 * close() is idempotent: no speaker change is applied or told after it.
 */
import { EventEmitter } from 'node:events';
import type { Peer, Producer } from './Peer.ts';
import { logUnlessClosed } from './log.ts';
import type { RoomRouters } from './RoomRouters.ts';

export type RoomSpeakerEvents = {
	activespeaker: [peerId: string];
};

export class RoomSpeaker extends EventEmitter<RoomSpeakerEvents> {
	readonly #routers: RoomRouters;
	readonly #peers: ReadonlyMap<string, Peer>;
	#activeSpeaker: string | null = null;
	#closed = false;

	constructor(routers: RoomRouters, peers: ReadonlyMap<string, Peer>) {
		super();
		this.#routers = routers;
		this.#peers = peers;
		routers.on('dominantspeaker', (producer) => this.#setActiveSpeaker(producer.appData.peerId as string));
		routers.on('mainchanged', () => {
			for (const peer of this.#peers.values()) for (const p of peer.producers.values()) if (p.kind === 'audio') this.observe(peer, p);
		});
	}

	get activeSpeaker(): string | null {
		return this.#activeSpeaker;
	}

	/** A peer left: it is no longer the active speaker. */
	forget(peerId: string): void {
		if (this.#activeSpeaker === peerId) this.#activeSpeaker = null;
	}

	/** Let the active speaker observer hear a microphone, wherever it is. */
	observe(peer: Peer, producer: Producer): void {
		const from = this.#routers.entry(peer.workerIndex);
		if (!from) return;
		void this.#routers
			.observe(producer, from)
			.catch((err: unknown) => logUnlessClosed(peer.log, producer, err, 'active speaker observer did not take the producer'));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.removeAllListeners();
	}

	/** The dominant speaker's video gets bandwidth before other videos. */
	#setActiveSpeaker(peerId: string): void {
		if (this.#closed || peerId === this.#activeSpeaker) return;
		const previous = this.#activeSpeaker;
		this.#activeSpeaker = peerId;
		for (const peer of this.#peers.values()) {
			for (const consumer of peer.consumers.values()) {
				if (consumer.kind !== 'video' || consumer.appData.source !== 'camera') continue;
				const from = consumer.appData.producerPeerId;
				const priority = from === peerId ? 2 : from === previous ? 1 : 0;
				if (priority) {
					void consumer.setPriority(priority).catch((err: unknown) => logUnlessClosed(peer.log, consumer, err, 'consumer priority not set'));
				}
			}
		}
		this.emit('activespeaker', peerId);
	}
}
