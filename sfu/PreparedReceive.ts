/**
 * A receive transport opened before its participant joins the room (while they are in the
 * lobby), so that ICE and DTLS are done by the time they click Join: the join then only adds
 * consumers to a connected transport. A browser starts ICE and DTLS only once it has something
 * to negotiate, so the transport carries a data channel: a consumer of its router's standby
 * data producer (RoomRouters.standbyDataProducer), which never sends anything.
 *
 * With the lobby's receive capabilities it also carries paused consumers of the room's media
 * (prepareConsumers), which the browser negotiates in the lobby too: the join then only resumes
 * them. They hold their producers' pipes to this worker (a lease each) until taken or closed.
 *
 * At join the peer adopts the transport (Peer.adopt → take()); one never taken closes with
 * close() or with its router, and by itself once the browser is gone: its connection closed
 * (DTLS close, a lobby page closed or left) or silent (ICE consent expired, 30 s). Until then
 * it would hold the room's cameras at a newcomer's layer (ProducerDemand.holdForNewcomer).
 * close() is idempotent; 'close' is emitted once, when the transport is taken or closed.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { InvalidStateError } from './errors.ts';
import { consumerSettings } from './consumerSettings.ts';
import { viewedOf } from './layers/ConsumerViews.ts';
import type { Consumer, ConsumerAppData, PeerPlacement, Producer } from './peerTypes.ts';
import type { Transport } from './webRtcTransport.ts';

/** Why an untaken prepared transport closed by itself. */
export type PreparedReceiveGone = 'dtls-closed' | 'dtls-failed' | 'ice-disconnected';

/** 'gone' (the browser went before its join) comes just before that 'close'. */
export type PreparedReceiveEvents = { close: []; gone: [reason: PreparedReceiveGone] };

/** A consumer prepared in the lobby, and the producer it consumes. */
export interface PreparedConsumer {
	consumer: Consumer;
	producer: Producer;
}

export interface PrepareConsumersOptions {
	/** Who the consumers are for (the join token's identity): only that peer adopts them. */
	identity: string;
	rtpCapabilities: types.RtpCapabilities;
	/** The producers to consume, in order; those past `max` are left to the join. */
	producers: readonly Producer[];
	max: number;
	/** Make a producer consumable on this worker (a pipe); the returned release is called once the consumer is taken or closed. */
	lease: (producer: Producer) => Promise<() => void>;
}

export class PreparedReceive extends EventEmitter<PreparedReceiveEvents> {
	readonly #transport: Transport;
	readonly #dataConsumer: types.DataConsumer;
	readonly #router: types.Router;
	readonly #consumers = new Map<string, PreparedConsumer>();
	readonly #leases: (() => void)[] = [];
	readonly routerId: string;
	readonly workerIndex: number;
	#done = false;

	constructor(transport: Transport, dataConsumer: types.DataConsumer, placement: PeerPlacement) {
		super();
		this.#transport = transport;
		this.#dataConsumer = dataConsumer;
		this.#router = placement.router;
		this.routerId = placement.router.id;
		this.workerIndex = placement.workerIndex;
		transport.observer.once('close', () => this.#finish());
		transport.on('dtlsstatechange', this.#onDtls);
		transport.on('icestatechange', this.#onIce);
	}

	readonly #onDtls = (state: types.DtlsState): void => {
		if (state === 'closed' || state === 'failed') this.#gone(state === 'closed' ? 'dtls-closed' : 'dtls-failed');
	};

	readonly #onIce = (state: types.IceState): void => {
		if (state === 'disconnected' || state === 'closed') this.#gone('ice-disconnected');
	};

	#gone(reason: PreparedReceiveGone): void {
		if (this.#done) return;
		this.emit('gone', reason);
		this.close();
	}

	get transport(): Transport {
		return this.#transport;
	}

	/** The data channel the browser negotiates to get ICE and DTLS going. */
	get dataConsumer(): types.DataConsumer {
		return this.#dataConsumer;
	}

	/** The consumers prepared on it, still open. */
	get consumers(): readonly PreparedConsumer[] {
		return [...this.#consumers.values()];
	}

	/**
	 * Consume the room's producers (paused) on this transport for the browser to negotiate in the
	 * lobby. Best effort: a producer this Device cannot receive, or whose pipe fails, is left to
	 * the join. Returns the consumers made.
	 */
	async prepareConsumers(options: PrepareConsumersOptions): Promise<PreparedConsumer[]> {
		const made = await Promise.all(options.producers.slice(0, Math.max(0, options.max)).map(async (producer) => {
			if (this.#done || producer.closed) return null;
			// Piped to this worker first (canConsume knows the router's producers only).
			const release = await options.lease(producer).catch(() => null);
			if (!release) return null;
			if (this.#done || !this.#router.canConsume({ producerId: producer.id, rtpCapabilities: options.rtpCapabilities })) {
				release();
				return null;
			}
			this.#leases.push(release);
			try {
				const consumer = await this.#transport.consume<ConsumerAppData>(consumerSettings(options.identity, producer, viewedOf(producer), options.rtpCapabilities));
				if (this.#done) {
					consumer.close();
					return null;
				}
				const entry = { consumer, producer };
				this.#consumers.set(consumer.id, entry);
				consumer.observer.once('close', () => this.#consumers.delete(consumer.id));
				return entry;
			} catch {
				// Closed meanwhile (its producer or this transport): the join consumes it if it is still there.
				return null;
			}
		}));
		return made.filter((m): m is PreparedConsumer => m !== null);
	}

	/** Taken by a peer, or closed. */
	get done(): boolean {
		return this.#done;
	}

	/**
	 * The browser's DTLS parameters. Still allowed once taken (the request may cross the join),
	 * and only once, as for any transport.
	 */
	async connect(dtlsParameters: types.DtlsParameters): Promise<void> {
		const transport = this.#transport;
		if (transport.closed) throw new InvalidStateError(`transport ${transport.id} closed`);
		if (transport.appData.connecting) throw new InvalidStateError(`transport ${transport.id} is already connected`);
		transport.appData.connecting = true;
		await transport.connect({ dtlsParameters });
	}

	/**
	 * Hand the transport and its open consumers over (once); null if it was taken or closed
	 * already. The taker must keep the consumers in the same tick: their pipes' leases end here,
	 * and from now on a pipe stays while its consumer is the taker's.
	 */
	take(): { transport: Transport; consumers: readonly PreparedConsumer[] } | null {
		if (this.#done || this.#transport.closed) return null;
		const consumers = this.consumers;
		this.#finish();
		return { transport: this.#transport, consumers };
	}

	/** Close the transport unless a peer took it. */
	close(): void {
		if (this.#done) return;
		this.#finish();
		this.#transport.close();
	}

	#finish(): void {
		if (this.#done) return;
		this.#done = true;
		for (const release of this.#leases.splice(0)) release();
		this.#consumers.clear();
		// Taken: the peer watches its transport from now on.
		this.#transport.off('dtlsstatechange', this.#onDtls);
		this.#transport.off('icestatechange', this.#onIce);
		this.emit('close');
	}
}
