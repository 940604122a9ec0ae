/** What RemoteMedia needs of the room client: requests, the receive transports, the session's state (RemoteMedia.ts). */
import type { types as msc } from 'mediasoup-client';
import type { RequestName, RequestPayload, ResponseData } from '../../../signaling/protocol/index.ts';
import type { Epoch } from './marks.ts';

export interface ReceiveTransports {
	readonly recv: msc.Transport | null;
	readonly recvConnectStarted: boolean;
	/** The receive transport once it exists. */
	recvTransport(): Promise<msc.Transport>;
	/** Close the receive transport on both ends and open a fresh one. */
	replaceRecv(generation: number): Promise<void>;
	/** A consumer negotiated in the lobby on `transport`, now the caller's (null: none with this id). */
	takePrepared(consumerId: string, transport: msc.Transport): msc.Consumer | null;
}

export interface RemoteMediaContext {
	request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<ResponseData<K>>;
	transports: ReceiveTransports;
	epoch: Epoch;
	selfId(): string | null;
	/** In the room and not closed (viewport reports can go out). */
	active(): boolean;
	closed(): boolean;
	changed(): void;
	notice(message: string): void;
}
