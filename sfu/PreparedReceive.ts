/**
 * A receive transport opened before its participant joins the room (while they are in the
 * lobby), so that ICE and DTLS are done by the time they click Join: the join then only adds
 * consumers to a connected transport. A browser starts ICE and DTLS only once it has something
 * to negotiate, so the transport carries a data channel: a consumer of its router's standby
 * data producer (RoomRouters.standbyDataProducer), which never sends anything.
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
import type { PeerPlacement } from './peerTypes.ts';
import type { Transport } from './webRtcTransport.ts';

/** Why an untaken prepared transport closed by itself. */
export type PreparedReceiveGone = 'dtls-closed' | 'dtls-failed' | 'ice-disconnected';

/** 'gone' (the browser went before its join) comes just before that 'close'. */
export type PreparedReceiveEvents = { close: []; gone: [reason: PreparedReceiveGone] };

export class PreparedReceive extends EventEmitter<PreparedReceiveEvents> {
	readonly #transport: Transport;
	readonly #dataConsumer: types.DataConsumer;
	readonly routerId: string;
	readonly workerIndex: number;
	#done = false;

	constructor(transport: Transport, dataConsumer: types.DataConsumer, placement: PeerPlacement) {
		super();
		this.#transport = transport;
		this.#dataConsumer = dataConsumer;
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

	/** Hand the transport over (once); null if it was taken or closed already. */
	take(): Transport | null {
		if (this.#done || this.#transport.closed) return null;
		this.#finish();
		return this.#transport;
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
		// Taken: the peer watches its transport from now on.
		this.#transport.off('dtlsstatechange', this.#onDtls);
		this.#transport.off('icestatechange', this.#onIce);
		this.emit('close');
	}
}
