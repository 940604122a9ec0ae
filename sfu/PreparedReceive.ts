/**
 * A receive transport opened before its participant joins the room (while they are in the
 * lobby), so that ICE and DTLS are done by the time they click Join: the join then only adds
 * consumers to a connected transport. A browser starts ICE and DTLS only once it has something
 * to negotiate, so the transport carries a data channel: a consumer of its router's standby
 * data producer (RoomRouters.standbyDataProducer), which never sends anything.
 *
 * At join the peer adopts the transport (Peer.adopt → take()); one never taken closes with
 * close() or with its router. close() is idempotent; 'close' is emitted once, when the
 * transport is taken or closed.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { InvalidStateError } from './errors.ts';
import type { PeerPlacement } from './peerTypes.ts';
import type { Transport } from './webRtcTransport.ts';

export type PreparedReceiveEvents = { close: [] };

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
		this.emit('close');
	}
}
