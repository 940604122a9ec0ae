/**
 * The others' media: who is in the room and what they publish (RemotePeers), and this
 * client's consumers of it (one per remote producer), with the layers the SFU forwards and
 * the viewport reports. Consumers are created through the ConsumerBatcher (one SDP
 * negotiation for the answers that arrive together).
 *
 * A consumer that fails to negotiate does not take the others down: the receive transport
 * it poisoned is replaced by a fresh one, the consumers are created again, and the suspects
 * of the failed group one at a time, so the culprit is found, reported and left out.
 */
import type { ConsumerOptions, PeerInfo, PeerQuality, ProducerInfo } from '../../../signaling/protocol/index.ts';
import { ConsumerBatcher, NegotiationError } from './ConsumerBatcher.ts';
import { spatialLayersOf } from './encodings.ts';
import { RoomError, toRoomError } from './errors.ts';
import { mark } from './marks.ts';
import type { RemoteMediaContext } from './remoteMediaTypes.ts';
import { RemotePeers } from './RemotePeers.ts';
import type { ConsumerLayers, RemoteConsumer, RemoteParticipant, RemoteVideo, TileViewport } from './types.ts';
import type { WatchedVideo } from './StallWatch.ts';
import { Viewports } from './Viewports.ts';

/** Receive transports replaced per session at most (a connection that fails whatever is consumed is not retried forever). */
const MAX_RECEIVE_RESTARTS = 8;

export class RemoteMedia {
	readonly #ctx: RemoteMediaContext;
	readonly #batcher: ConsumerBatcher;
	readonly #viewports: Viewports;
	readonly #peers = new RemotePeers();
	readonly #consumers = new Map<string, RemoteConsumer>();
	readonly #byProducer = new Map<string, string>();
	readonly #layers = new Map<string, ConsumerLayers>();
	/** Producers being consumed, and the consume() calls under way. */
	readonly #consuming = new Set<string>();
	readonly #tasks = new Set<Promise<void>>();
	#inflight = 0;
	/** Producers whose consumer failed to negotiate on its own (reported, not retried), and those under suspicion. */
	readonly #failed = new Set<string>();
	readonly #suspects = new Set<string>();
	#restarts = 0;
	/** Bumped when the receive transport is replaced: consume() calls of an earlier round drop their results. */
	#round = 0;
	/** Consumers the server made with the room:join answer (by producer id), not handed to the batcher yet. */
	readonly #prefetched = new Map<string, ConsumerOptions>();
	/** Consumers the SFU has resumed (their media is due once their producer is live). */
	readonly #resumed = new Set<string>();
	/** Waiting for the SFU to forward video (videoForwarded). */
	readonly #forwarding = new Set<() => void>();

	constructor(ctx: RemoteMediaContext) {
		this.#ctx = ctx;
		this.#batcher = new ConsumerBatcher({
			// Consumers that came with the join answer are on their way to the batcher too.
			inflight: () => this.#inflight + this.#prefetched.size,
			// Before the receive transport's first negotiation (the one these consumers are in), the
			// server can resume them right away: mediasoup asks for a keyframe once DTLS is up.
			resumeEarly: (consumerId) =>
				ctx.transports.recvConnectStarted ? null : ctx.request('media:resumeConsumer', { consumerId }),
			onGroupFailed: (failed, error) => this.#onGroupFailed(failed, error),
			prepared: (consumerId, transport) => ctx.transports.takePrepared(consumerId, transport),
		});
		this.#viewports = new Viewports({
			request: (name, payload) => ctx.request(name, payload),
			isVideo: (id) => this.#consumers.get(id)?.kind === 'video',
			active: () => ctx.active(),
		});
	}

	get consumerCount(): number {
		return this.#consumers.size;
	}

	consumers(): RemoteConsumer[] {
		return [...this.#consumers.values()];
	}

	peerName(peerId: string): string {
		return this.#peers.name(peerId);
	}

	/** Settles when the consume() calls started so far have (joined or failed). */
	settled(): Promise<unknown> {
		return Promise.allSettled([...this.#tasks]);
	}

	layersOf(consumerId: string): ConsumerLayers | null {
		return this.#layers.get(consumerId) ?? null;
	}

	// ---- what the server says ------------------------------------------------------

	/**
	 * Consumers the server made with the room:join answer, on the receive transport of that
	 * answer: used instead of asking for them (call before peerJoined for the answer's peers).
	 */
	prefetch(consumers: readonly ConsumerOptions[]): void {
		for (const options of consumers) this.#prefetched.set(options.producerId, options);
	}

	/** Close the prefetched consumers of producers that are not here (any more): nobody will use them. */
	dropUnknownPrefetched(): void {
		for (const [producerId, options] of this.#prefetched) {
			if (this.#byProducer.has(producerId) || this.#consuming.has(producerId)) continue;
			this.#prefetched.delete(producerId);
			this.#ctx.request('media:closeConsumer', { consumerId: options.id }).catch(() => undefined);
		}
	}

	peerJoined(peer: PeerInfo): void {
		if (peer.id === this.#ctx.selfId()) return;
		this.#peers.join(peer);
		for (const producer of peer.producers) this.#startConsume(producer);
		this.#ctx.changed();
	}

	peerLeft(peerId: string): void {
		const producerIds = this.#peers.leave(peerId);
		if (!producerIds) return;
		for (const producerId of producerIds) this.#dropConsumerOf(producerId);
		this.#ctx.changed();
	}

	/**
	 * `pushed`: the server made this client's consumer of it already (a moved participant
	 * publishing again), on the receive transport `transportId`: used if that is still the
	 * current one and nothing consumes the producer yet, else closed.
	 */
	producerNew(producer: ProducerInfo, pushed?: ConsumerOptions & { transportId: string }): void {
		if (pushed) {
			const recv = this.#ctx.transports.recv;
			const usable = recv !== null && !recv.closed && recv.id === pushed.transportId && producer.peerId !== this.#ctx.selfId();
			if (usable && !this.#byProducer.has(producer.id) && !this.#consuming.has(producer.id) && !this.#prefetched.has(producer.id)) {
				const { transportId: _, ...options } = pushed;
				this.#prefetched.set(producer.id, options);
			} else this.#ctx.request('media:closeConsumer', { consumerId: pushed.id }).catch(() => undefined);
		}
		if (producer.peerId === this.#ctx.selfId()) return;
		this.#peers.addProducer(producer);
		this.#startConsume(producer);
		this.#ctx.changed();
	}

	producerClosed(peerId: string, producerId: string): void {
		this.#peers.removeProducer(peerId, producerId);
		this.#dropConsumerOf(producerId);
		this.#failed.delete(producerId);
		this.#ctx.changed();
	}

	producerPaused(peerId: string, producerId: string, paused: boolean): void {
		if (this.#peers.setPaused(peerId, producerId, paused)) this.#ctx.changed();
	}

	consumerClosed(consumerId: string): void {
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) return;
		consumer.close();
		this.#forget(consumer);
		this.#ctx.changed();
	}

	consumerLayers(consumerId: string, layers: ConsumerLayers): void {
		if (!this.#consumers.has(consumerId)) return;
		mark(`consumer-layers-${layers.spatialLayer ?? 'none'}`);
		this.#layers.set(consumerId, layers);
		if (layers.spatialLayer !== null) for (const listener of [...this.#forwarding]) listener();
		this.#ctx.changed();
	}

	/**
	 * Settles once the SFU forwards video on one of the layered video consumers that are due (its
	 * first keyframe is on its way), at once if it does already or none is due. A remote track's
	 * unmute cannot tell: Chromium unmutes it at the negotiation.
	 */
	videoForwarded(): Promise<void> {
		// Only layered consumers (simulcast, SVC) are told their layers; a simple one would never say.
		const layered = (id: string): boolean => spatialLayersOf(this.#consumers.get(id)) > 1;
		const due = this.watchedVideos().filter((v) => v.due && layered(v.consumerId));
		if (due.length === 0 || due.some((v) => (this.#layers.get(v.consumerId)?.spatialLayer ?? null) !== null)) return Promise.resolve();
		return new Promise<void>((resolve) => {
			const listener = (): void => {
				this.#forwarding.delete(listener);
				resolve();
			};
			this.#forwarding.add(listener);
		});
	}

	reportViewport(consumerId: string, viewport: TileViewport): void {
		if (this.#consumers.has(consumerId)) this.#viewports.report(consumerId, viewport);
	}

	// ---- consuming -----------------------------------------------------------------

	#startConsume(producer: ProducerInfo): void {
		const task = this.#consume(producer);
		this.#tasks.add(task);
		void task.finally(() => this.#tasks.delete(task));
	}

	async #consume(producer: ProducerInfo): Promise<void> {
		const { epoch, request } = this.#ctx;
		const generation = epoch.value;
		const round = this.#round;
		const current = (): boolean => epoch.isCurrent(generation) && round === this.#round;
		if (this.#byProducer.has(producer.id) || this.#consuming.has(producer.id) || this.#failed.has(producer.id)) return;
		this.#consuming.add(producer.id);
		try {
			const transport = await this.#ctx.transports.recvTransport();
			if (!current() || !this.#peers.has(producer)) return;
			let options = this.#prefetched.get(producer.id);
			if (options) this.#prefetched.delete(producer.id);
			else {
				this.#inflight++;
				try {
					options = await request('media:consume', { transportId: transport.id, producerId: producer.id });
				} finally {
					if (current()) this.#inflight--;
				}
			}
			if (!current() || transport.closed) return;
			mark(`consume-answered-${options.kind}`);
			const { consumer, resumed } = await this.#batcher.add(transport, options, this.#suspects.has(producer.id));
			if (!current() || !this.#peers.has(producer)) {
				consumer.close();
				return;
			}
			this.#suspects.delete(producer.id);
			this.#consumers.set(consumer.id, consumer);
			this.#byProducer.set(producer.id, consumer.id);
			consumer.on('trackended', () => this.consumerClosed(consumer.id));
			consumer.on('transportclose', () => this.#forget(consumer));
			this.#peers.setPaused(producer.peerId, producer.id, options.producerPaused);
			mark(`consumer-created-${consumer.kind}`);
			// Ask for media before re-rendering: the keyframe request goes out sooner.
			const resuming = resumed ?? request('media:resumeConsumer', { consumerId: consumer.id });
			this.#ctx.changed();
			try {
				await resuming;
			} catch (error) {
				if (!(error instanceof RoomError && error.code === 'not_found')) throw error;
				// The SFU closed it with its producer meanwhile (consumer:closed came before it was known here).
				console.debug(`[parley] consumer ${consumer.id} went away before its resume`);
				this.consumerClosed(consumer.id);
				return;
			}
			if (this.#consumers.get(consumer.id) === consumer) this.#resumed.add(consumer.id);
			mark(`consumer-resumed-${consumer.kind}`);
		} catch (error) {
			// A failed negotiation is handled for the whole group (#onGroupFailed), and a replaced
			// receive transport consumes everything again.
			if (error instanceof NegotiationError || !current()) return;
			if (this.#ctx.closed() || (error instanceof RoomError && error.code === 'closed')) return;
			// Its producer went away meanwhile (its peer left): nothing wrong.
			if (!this.#peers.has(producer)) return void console.debug('[parley] consume of a producer that went away', error);
			console.warn('[parley] consume failed', error);
			this.#reportFailure(producer, error);
		} finally {
			if (current()) this.#consuming.delete(producer.id);
		}
	}

	#reportFailure(producer: Pick<ProducerInfo, 'peerId' | 'kind'>, error: unknown): void {
		this.#ctx.notice(`Could not receive ${producer.kind} from ${this.peerName(producer.peerId)}: ${toRoomError(error).message}`);
	}

	/**
	 * A negotiation failed. A group of one is the culprit: reported and left out. A larger
	 * group's members become suspects, consumed one at a time on the fresh transport. Either
	 * way the receive transport is replaced and everything else consumed again.
	 */
	#onGroupFailed(failed: readonly ConsumerOptions[], error: unknown): void {
		const generation = this.#ctx.epoch.value;
		console.warn(`[parley] receive negotiation failed for ${failed.length} consumer(s)`, error);
		if (failed.length === 1) {
			const culprit = failed[0]!;
			this.#failed.add(culprit.producerId);
			this.#suspects.delete(culprit.producerId);
			this.#reportFailure(culprit, error);
		} else {
			for (const f of failed) this.#suspects.add(f.producerId);
		}
		for (const f of failed) void this.#ctx.request('media:closeConsumer', { consumerId: f.id }).catch(() => undefined);
		if (++this.#restarts > MAX_RECEIVE_RESTARTS) {
			this.#ctx.notice('Video or sound from the others cannot be received. To try again, leave the meeting and select Rejoin.');
			return;
		}
		void this.#restartReceive(generation);
	}

	/** Open a fresh receive transport and consume everything again (the old one's handshake is stuck). */
	restartReceive(): void {
		void this.#restartReceive(this.#ctx.epoch.value);
	}

	async #restartReceive(generation: number): Promise<void> {
		mark('recv-transport-replaced');
		this.#round++;
		this.#prefetched.clear();
		this.#consuming.clear();
		this.#inflight = 0;
		this.#batcher.reset(new RoomError('closed', 'Receive transport replaced.'));
		for (const consumer of [...this.#consumers.values()]) {
			consumer.close();
			this.#forget(consumer);
		}
		this.#ctx.changed();
		try {
			await this.#ctx.transports.replaceRecv(generation);
		} catch (error) {
			if (this.#ctx.epoch.isCurrent(generation) && !this.#ctx.closed()) {
				this.#ctx.notice(`Could not reopen the receiving media path: ${toRoomError(error).message}`);
			}
			return;
		}
		if (!this.#ctx.epoch.isCurrent(generation)) return;
		for (const producer of this.#peers.producers()) this.#startConsume(producer);
	}

	#forget(consumer: RemoteConsumer): void {
		if (this.#consumers.get(consumer.id) === consumer) this.#consumers.delete(consumer.id);
		this.#resumed.delete(consumer.id);
		if (this.#byProducer.get(consumer.producerId) === consumer.id) this.#byProducer.delete(consumer.producerId);
		this.#viewports.forget(consumer.id);
		this.#layers.delete(consumer.id);
	}

	#dropConsumerOf(producerId: string): void {
		const consumerId = this.#byProducer.get(producerId);
		const consumer = consumerId ? this.#consumers.get(consumerId) : undefined;
		this.#byProducer.delete(producerId);
		if (!consumer) return;
		consumer.close();
		this.#forget(consumer);
	}

	/** The video consumers and whether frames are due on each (see StallWatch). */
	watchedVideos(): WatchedVideo[] {
		const out: WatchedVideo[] = [];
		for (const c of this.#consumers.values()) {
			if (c.kind !== 'video' || c.closed) continue;
			const producer = this.#peers.producer(c.appData.peerId, c.producerId);
			const due = this.#resumed.has(c.id) && !c.paused && !!producer && !producer.paused && this.#viewports.visible(c.id);
			out.push({ consumerId: c.id, producerId: c.producerId, trackId: c.track.id, due });
		}
		return out;
	}

	/** Make a consumer again (it never started): close it on both ends and consume its producer anew. */
	remake(consumerId: string): void {
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) return;
		const producer = this.#peers.producer(consumer.appData.peerId, consumer.producerId);
		this.#dropConsumerOf(consumer.producerId);
		this.#ctx.request('media:closeConsumer', { consumerId }).catch(() => undefined);
		this.#ctx.changed();
		if (producer) this.#startConsume(producer);
	}

	// ---- what React shows ----------------------------------------------------------

	#consumerOf(producerId: string): RemoteConsumer | null {
		const consumerId = this.#byProducer.get(producerId);
		const consumer = consumerId ? this.#consumers.get(consumerId) : undefined;
		return consumer && !consumer.closed ? consumer : null;
	}

	participants(quality: ReadonlyMap<string, PeerQuality>): RemoteParticipant[] {
		return this.#peers.participants(quality, {
			trackOf: (producerId) => this.#consumerOf(producerId)?.track ?? null,
			videoOf: (producerId): RemoteVideo | null => {
				const consumer = this.#consumerOf(producerId);
				return consumer ? { consumerId: consumer.id, track: consumer.track, layers: this.layersOf(consumer.id) } : null;
			},
		});
	}

	/**
	 * Forget the session's consumers and peers (for a reconnect or close). `closing`: their
	 * transport is about to close, which closes them (closing them here would renegotiate it).
	 */
	reset(closing = false): void {
		if (!closing) for (const consumer of this.#consumers.values()) consumer.close();
		this.#consumers.clear();
		this.#resumed.clear();
		this.#byProducer.clear();
		this.#layers.clear();
		this.#viewports.reset();
		this.#consuming.clear();
		this.#prefetched.clear();
		this.#inflight = 0;
		this.#batcher.reset(new RoomError('closed', 'Session closed.'));
		this.#failed.clear();
		this.#suspects.clear();
		this.#restarts = 0;
		this.#peers.clear();
		// A new session: whoever waited goes on (it checks its session itself).
		for (const listener of [...this.#forwarding]) listener();
	}
}
