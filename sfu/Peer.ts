/**
 * One participant's media in a room: its WebRTC transports, producers and consumers.
 * close() is idempotent and cascades (transports → producers/consumers); every other
 * method throws InvalidStateError once closed.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { MediaKind, MediaSource } from './types.ts';
import type { Consumer, ConsumerAppData, Direction, PeerContext, PeerEvents, PeerPlacement, Producer, ProducerAppData, TransportAppData } from './peerTypes.ts';
import { ConsumerViews, viewedOf } from './layers/ConsumerViews.ts';
import { consumerSettings } from './consumerSettings.ts';
import { InvalidStateError, LimitError, NotFoundError } from './errors.ts';
import { logUnlessClosed } from './log.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from './limits.ts';
import { ssrcsOf, validateRtpParameters } from './rtpValidation.ts';
import { DEFAULT_DIMENSIONS, type Viewport } from './layers/chooseLayers.ts';
import type { PreparedConsumer, PreparedReceive } from './PreparedReceive.ts';
import { openWebRtcTransport, type Transport } from './webRtcTransport.ts';

export type { ConsumerAppData, Consumer, Direction, PeerContext, PeerEvents, PeerPlacement, Producer, ProducerAppData, TransportAppData } from './peerTypes.ts';


export class Peer extends EventEmitter<PeerEvents> {
	readonly id: string;
	readonly name: string;
	readonly joinedAt = Date.now();
	readonly log: Logger;
	#rtpCapabilities: types.RtpCapabilities;
	#ctx: PeerContext;
	readonly #transports = new Map<string, Transport>();
	readonly #producers = new Map<string, Producer>();
	readonly #consumers = new Map<string, Consumer>();
	readonly #views = new ConsumerViews();
	readonly #limits: PeerLimits;
	/** Creations in flight (checked with the existing ones, so concurrent requests cannot pass a cap). */
	readonly #pendingTransports = { send: 0, recv: 0 };
	readonly #pendingSources = new Set<MediaSource>();
	readonly #pendingConsumers = new Map<string, number>();
	#closed = false;
	#movedAt: number | null = null;
	/** Its client wants consumers made for it when a moved peer publishes again (see the signaling's producer:new). */
	pushConsumers = false;

	constructor(id: string, name: string, rtpCapabilities: types.RtpCapabilities, ctx: PeerContext) {
		super();
		this.id = id;
		this.name = name;
		this.#rtpCapabilities = rtpCapabilities;
		this.#ctx = ctx;
		this.#limits = ctx.limits ?? DEFAULT_PEER_LIMITS;
		this.log = ctx.logger.child({ peerId: id });
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** When this peer's media was last moved to another worker (epoch ms; null: never). */
	get movedAt(): number | null {
		return this.#movedAt;
	}

	/** The latest open receive transport (where new consumers go), if any. */
	get recvTransport(): Transport | undefined {
		let latest: Transport | undefined;
		for (const t of this.#transports.values()) if (t.appData.direction === 'recv' && !t.closed) latest = t;
		return latest;
	}

	/** The pool index of the worker this peer's media is on. */
	get workerIndex(): number {
		return this.#ctx.workerIndex;
	}

	/**
	 * This peer's router is gone (its worker died or was closed): all of its media went with
	 * it, and it is about to be moved (relocate) or the room closes. News about single
	 * producers going away is of no use to it meanwhile.
	 */
	get mediaLost(): boolean {
		return this.#ctx.router.closed;
	}

	/** The receive capabilities the client announced when (last) joining. */
	get rtpCapabilities(): types.RtpCapabilities {
		return this.#rtpCapabilities;
	}

	/**
	 * Start the media over (the client joins again on the same connection): every transport
	 * closes, and with them the producers and consumers. New capabilities (the client loaded
	 * its device again, e.g. after a server upgrade) apply to what is consumed from now on.
	 */
	resetMedia(rtpCapabilities?: types.RtpCapabilities): void {
		this.#assertOpen();
		for (const transport of [...this.#transports.values()]) transport.close();
		if (rtpCapabilities) this.#rtpCapabilities = rtpCapabilities;
	}

	/**
	 * Move this peer's media to another router (its worker died or is being drained): its
	 * transports close (and with them its producers and consumers); the client creates new
	 * ones, publishes and consumes again. The peer itself (identity, room membership) stays.
	 */
	relocate(placement: PeerPlacement): void {
		this.resetMedia();
		this.#ctx = { ...this.#ctx, ...placement };
		this.#movedAt = Date.now();
		this.log.info({ worker: placement.workerIndex }, 'media moved to another worker');
		this.emit('moved', placement.workerIndex);
	}

	get producers(): ReadonlyMap<string, Producer> {
		return this.#producers;
	}

	get consumers(): ReadonlyMap<string, Consumer> {
		return this.#consumers;
	}

	get transports(): ReadonlyMap<string, Transport> {
		return this.#transports;
	}

	#assertTransportRoom(direction: Direction): void {
		let open = this.#pendingTransports[direction];
		for (const t of this.#transports.values()) if (t.appData.direction === direction) open++;
		if (open >= this.#limits.transportsPerDirection) {
			throw new LimitError(`at most ${this.#limits.transportsPerDirection} ${direction} transports`);
		}
	}

	/**
	 * Take over a receive transport prepared before this peer joined (its ICE and DTLS are
	 * usually done already), with the consumers prepared on it (paused; the browser has
	 * negotiated them in the lobby: resumeConsumer may resume them at once). Only one on this
	 * peer's own router: null otherwise (or if it closed meanwhile), and the caller opens a new one.
	 */
	adopt(prepared: PreparedReceive): { transport: Transport; consumers: PreparedConsumer[] } | null {
		this.#assertOpen();
		this.#assertTransportRoom('recv');
		if (prepared.routerId !== this.#ctx.router.id) return null;
		const taken = prepared.take();
		if (!taken) return null;
		const { transport } = taken;
		this.#transports.set(transport.id, transport);
		transport.observer.once('close', () => this.#transports.delete(transport.id));
		const consumers: PreparedConsumer[] = [];
		for (const { consumer, producer } of taken.consumers) {
			// Made with the lobby's identity: another one (a token for someone else) gets none of them.
			if (consumer.closed || producer.closed || consumer.appData.peerId !== this.id) {
				consumer.close();
				continue;
			}
			this.#track(consumer, producer);
			consumers.push({ consumer, producer });
		}
		this.log.debug({ transportId: transport.id, state: transport.dtlsState, consumers: consumers.length }, 'prepared receive transport adopted');
		return { transport, consumers };
	}

	async createTransport(direction: Direction): Promise<Transport> {
		this.#assertOpen();
		this.#assertTransportRoom(direction);
		this.#pendingTransports[direction]++;
		let transport: Transport;
		try {
			transport = await openWebRtcTransport(this.#ctx, direction, this.#ctx, this.log);
		} finally {
			this.#pendingTransports[direction]--;
		}
		// The peer may have closed while the worker was creating the transport.
		if (this.#closed) {
			transport.close();
			throw new InvalidStateError(`peer ${this.id} closed`);
		}
		this.#transports.set(transport.id, transport);
		transport.observer.once('close', () => this.#transports.delete(transport.id));
		return transport;
	}

	async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
		const transport = this.transport(transportId);
		// Only a second connect is refused. The DTLS state is no guide: once ICE is done, mediasoup
		// runs DTLS as server before any connect (its 'auto' role), and the first connect (the
		// remote fingerprint) is what lets that handshake finish.
		if (transport.appData.connecting) {
			throw new InvalidStateError(`transport ${transportId} is already connected`);
		}
		transport.appData.connecting = true;
		await transport.connect({ dtlsParameters });
	}

	async restartIce(transportId: string): Promise<types.IceParameters> {
		return this.transport(transportId).restartIce();
	}

	async produce(options: {
		transportId: string;
		kind: MediaKind;
		rtpParameters: types.RtpParameters;
		source: MediaSource;
		paused?: boolean;
		dimensions?: { width: number; height: number };
		/** Simulcast: the publisher starts with its encodings up to this one only. */
		maxSpatialLayer?: number;
	}): Promise<Producer> {
		const transport = this.transport(options.transportId, 'send');
		// One producer per source, also under concurrent requests: the source is taken
		// (pending) before the first await.
		for (const p of this.#producers.values()) {
			if (p.appData.source === options.source) {
				throw new InvalidStateError(`already producing ${options.source} (producer ${p.id})`);
			}
		}
		if (this.#pendingSources.has(options.source)) throw new InvalidStateError(`already producing ${options.source}`);
		const expectedKind: MediaKind = options.source === 'camera' || options.source === 'screen' ? 'video' : 'audio';
		if (options.kind !== expectedKind) throw new TypeError(`source ${options.source} must be ${expectedKind}`);
		const usedSsrcs = new Set([...this.#producers.values()].flatMap((p) => ssrcsOf(p.rtpParameters)));
		validateRtpParameters(options.rtpParameters, { kind: options.kind, capabilities: this.#ctx.router.rtpCapabilities, usedSsrcs });
		this.#pendingSources.add(options.source);
		let producer: Producer;
		try {
			producer = await transport.produce<ProducerAppData>({
				kind: options.kind,
				rtpParameters: options.rtpParameters,
				paused: options.paused ?? false,
				...(options.kind === 'video' ? { keyFrameRequestDelay: this.#ctx.keyFrameRequestDelayMs } : {}),
				appData: {
					peerId: this.id,
					source: options.source,
					dimensions: options.dimensions ?? DEFAULT_DIMENSIONS,
					...(options.maxSpatialLayer !== undefined ? { startLayer: options.maxSpatialLayer } : {}),
				},
			});
		} finally {
			this.#pendingSources.delete(options.source);
		}
		if (this.#closed) {
			producer.close();
			throw new InvalidStateError(`peer ${this.id} closed`);
		}
		this.#producers.set(producer.id, producer);
		producer.observer.once('close', () => {
			this.#producers.delete(producer.id);
			this.emit('producerclose', producer);
		});
		// Each layer's score (0: no packets for a while): where a viewer's missing video starts.
		producer.on('score', (scores) => {
			this.log.debug({ producerId: producer.id, scores: scores.map((s) => `${s.rid ?? s.encodingIdx}:${s.score}`).join(' ') }, 'producer score');
		});
		producer.observer.on('pause', () => this.emit('producerpause', producer));
		producer.observer.on('resume', () => this.emit('producerresume', producer));
		this.log.info({ producerId: producer.id, kind: producer.kind, source: options.source }, 'producing');
		this.emit('newproducer', producer);
		return producer;
	}

	producer(producerId: string): Producer {
		this.#assertOpen();
		const producer = this.#producers.get(producerId);
		if (!producer) throw new NotFoundError(`no producer ${producerId}`);
		return producer;
	}

	closeProducer(producerId: string): void {
		this.producer(producerId).close();
	}

	/** Consume another peer's producer on one of this peer's receive transports (starts paused). */
	async consume(transportId: string, producer: Producer): Promise<Consumer> {
		const transport = this.transport(transportId, 'recv');
		const release = await this.#ctx.beforeConsume?.(producer, this.#ctx);
		try {
			return await this.#consume(transport, producer);
		} finally {
			release?.();
		}
	}

	async #consume(transport: Transport, producer: Producer): Promise<Consumer> {
		if (!this.#ctx.router.canConsume({ producerId: producer.id, rtpCapabilities: this.rtpCapabilities })) {
			throw new TypeError(`cannot consume producer ${producer.id} with this device's RTP capabilities`);
		}
		let held = this.#pendingConsumers.get(producer.id) ?? 0;
		for (const c of this.#consumers.values()) if (c.producerId === producer.id) held++;
		if (held >= this.#limits.consumersPerProducer) {
			throw new LimitError(`at most ${this.#limits.consumersPerProducer} consumers of one producer`);
		}
		const viewed = viewedOf(producer);
		this.#pendingConsumers.set(producer.id, (this.#pendingConsumers.get(producer.id) ?? 0) + 1);
		const consumer = await transport.consume<ConsumerAppData>(consumerSettings(this.id, producer, viewed, this.rtpCapabilities)).finally(() => {
			const left = (this.#pendingConsumers.get(producer.id) ?? 1) - 1;
			if (left > 0) this.#pendingConsumers.set(producer.id, left);
			else this.#pendingConsumers.delete(producer.id);
		});
		if (this.#closed) {
			consumer.close();
			throw new InvalidStateError(`peer ${this.id} closed`);
		}
		this.#track(consumer, producer);
		return consumer;
	}

	/** Keep a consumer of this peer's (made here, or prepared in the lobby and adopted): its views, events and cleanup. */
	#track(consumer: Consumer, producer: Producer): void {
		this.#consumers.set(consumer.id, consumer);
		this.#views.add(consumer.id, viewedOf(producer));
		consumer.observer.once('close', () => {
			this.#consumers.delete(consumer.id);
			this.#views.delete(consumer.id);
			if (!this.#closed) this.emit('demandchange', consumer.producerId);
		});
		// Closed from the producer's side: the client must be told (transport close is our own doing).
		consumer.on('producerclose', () => this.emit('consumerclose', consumer));
		consumer.on('layerschange', (l) => {
			this.log.debug({ consumerId: consumer.id, producerId: producer.id, spatialLayer: l?.spatialLayer ?? null }, 'consumer layers');
			this.emit('consumerlayers', consumer, l);
		});
		// Screen shares get bandwidth first (the active speaker is raised by the room).
		if (producer.appData.source === 'screen') {
			void consumer.setPriority(3).catch((err: unknown) => logUnlessClosed(this.log, consumer, err, 'consumer priority not set'));
		}
		this.emit('demandchange', producer.id);
	}

	/** The client is ready for a consumer's media: resume it unless its video is not visible. */
	async resumeConsumer(consumerId: string): Promise<void> {
		const consumer = this.consumer(consumerId);
		if (!this.#views.ready(consumerId, consumer.kind)) return;
		await this.#guard(consumer, () => consumer.resume());
	}

	closeConsumer(consumerId: string): void {
		this.consumer(consumerId).close();
	}

	/**
	 * How the client shows a consumer's video: picks its preferred layers, pauses it while
	 * hidden and resumes it when visible again (if the client is ready for it).
	 */
	async setViewport(consumerId: string, viewport: Viewport): Promise<void> {
		const consumer = this.consumer(consumerId);
		if (consumer.kind !== 'video') return;
		const { layers, changed, ready } = this.#views.setViewport(consumerId, viewport);
		await this.#guard(consumer, async () => {
			if (!layers) {
				if (!consumer.paused) await consumer.pause();
			} else {
				if (consumer.type !== 'simple' && changed) await consumer.setPreferredLayers(layers);
				if (consumer.paused && ready) await consumer.resume();
			}
		});
		if (changed) this.emit('demandchange', consumer.producerId);
	}

	/**
	 * The highest spatial layer this peer needs of a producer: -1 when it consumes it but
	 * shows it nowhere, undefined when it does not consume it.
	 */
	demandFor(producerId: string): number | undefined {
		return this.#views.demandFor(producerId);
	}

	/** A consumer that closed meanwhile (its producer left) is reported as not found. */
	async #guard(consumer: Consumer, action: () => Promise<void>): Promise<void> {
		try {
			await action();
		} catch (error) {
			// The worker may have closed it (its producer went) before this process heard of it.
			if (consumer.closed || (error instanceof Error && error.name === 'NotFoundError')) throw new NotFoundError(`consumer ${consumer.id} closed (its producer went away)`);
			throw error;
		}
	}

	consumer(consumerId: string): Consumer {
		this.#assertOpen();
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) throw new NotFoundError(`no consumer ${consumerId}`);
		return consumer;
	}

	transport(transportId: string, direction?: Direction): Transport {
		this.#assertOpen();
		const transport = this.#transports.get(transportId);
		if (!transport) throw new NotFoundError(`no transport ${transportId}`);
		if (direction && transport.appData.direction !== direction) {
			throw new InvalidStateError(`transport ${transportId} is not a ${direction} transport`);
		}
		return transport;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		// Closing a transport closes its producers and consumers (their observers clean the maps).
		for (const transport of this.#transports.values()) transport.close();
		this.#transports.clear();
		this.log.debug('peer closed');
		this.emit('close');
		this.removeAllListeners();
	}

	#assertOpen(): void {
		if (this.#closed) throw new InvalidStateError(`peer ${this.id} closed`);
	}
}
