/**
 * Drives a bot through Parley's real signaling: a join token, a Socket.IO connection and
 * the typed request/notification protocol from signaling/protocol (the same contract as
 * the browser client).
 */
import { io, type Socket } from 'socket.io-client';
import {
	type ClientToServerEvents,
	emitWithAck,
	type MediaPrepareResponse,
	type ProducerInfo,
	type RequestName,
	type RequestPayload,
	type ResponseData,
	type RtpCapabilities,
	type ServerToClientEvents,
} from '../../signaling/protocol/index.ts';
import type { SessionOptions, SfuConnector, SfuSession } from './connector.ts';
import type { RTCPeerConnection } from 'werift';
import { connectPreparedReceive, type Joined, MediasoupSession, type MediasoupSignaling, type PreparedReceiveLink, type PreparedSession, type PushedConsumer } from './mediasoup.ts';

type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ParleyConnectorOptions {
	/** http://host:port of the Parley server. */
	url: string;
	/** Mint a join token for (room, identity). */
	token: (room: string, identity: string, grants: { publish: boolean; subscribe: boolean }) => string;
	/** Address bots use for ICE (the server announces 127.0.0.1 in tests and benchmarks). */
	localAddress?: string;
	requestTimeoutMs?: number;
	/** Test seam: runs before each media:connectTransport (e.g. to let ICE complete first). */
	beforeConnectTransport?: (transportId: string) => Promise<void>;
	/**
	 * Join as the browser does (default true): the router capabilities an earlier bot fetched
	 * are reused (capabilities and join sent together) and room:join brings the receive side.
	 * False: capabilities, join, createTransport and a consume per producer, one after another.
	 */
	fastJoin?: boolean;
	/** After a move, take the media session the server prepared (default true, as the browser does); false: join again. */
	usePrepared?: boolean;
	/** Prepare the receive connection before joining when asked (default true, as the browser's lobby does). */
	prepare?: boolean;
}

/** What prepare() gives connect(): the token it used, and the connected receive link. */
interface PreparedJoin {
	token: string;
	link: PreparedReceiveLink;
}

export class ParleyConnector implements SfuConnector {
	readonly name = 'parley';
	readonly localAddress: string;
	readonly #options: ParleyConnectorOptions;
	/** The router capabilities the last bot was given (the browser keeps them as a preloaded Device). */
	#known: RtpCapabilities | undefined;

	constructor(options: ParleyConnectorOptions) {
		this.#options = options;
		this.localAddress = options.localAddress ?? '127.0.0.1';
	}

	/**
	 * The browser's lobby: a receive transport prepared over HTTP, its data channel negotiated
	 * on `pc` until ICE and DTLS are done (null: nothing to prepare, e.g. an empty room).
	 */
	async prepare(options: SessionOptions, pc: RTCPeerConnection): Promise<PreparedJoin | null> {
		if (!options.subscribe || !(this.#options.prepare ?? true)) return null;
		const token = this.#token(options);
		const auth = { authorization: `Bearer ${token}` };
		const response = await fetch(`${this.#options.url}/api/media/prepare`, { method: 'POST', headers: auth });
		if (response.status === 204) return null;
		if (!response.ok) throw new Error(`prepare: HTTP ${response.status} ${await response.text()}`);
		const { transport } = (await response.json()) as MediaPrepareResponse;
		const link = await connectPreparedReceive(pc, transport, async (dtlsParameters) => {
			const body = JSON.stringify({ transportId: transport.id, dtlsParameters });
			const connected = await fetch(`${this.#options.url}/api/media/prepare/connect`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
			if (!connected.ok) throw new Error(`prepare/connect: HTTP ${connected.status} ${await connected.text()}`);
		});
		return { token, link };
	}

	#token(options: SessionOptions): string {
		return this.#options.token(options.room, options.identity, { publish: options.publish, subscribe: options.subscribe });
	}

	async connect(options: SessionOptions, prepared?: unknown): Promise<SfuSession> {
		const lobby = prepared as PreparedJoin | null | undefined;
		const token = lobby?.token ?? this.#token(options);
		const socket: ParleySocket = io(this.#options.url, {
			auth: { token },
			transports: ['websocket'],
			reconnection: false,
			forceNew: true,
		});
		await new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('connect_error', (e) => {
				socket.disconnect();
				reject(e);
			});
		});
		const signaling = new ParleySignaling(socket, this.#options.requestTimeoutMs ?? 10_000, this.#options.beforeConnectTransport, this.#options.usePrepared ?? true);
		const fast = this.#options.fastJoin ?? true;
		if (fast) signaling.onCapabilities = (capabilities) => (this.#known = capabilities);
		try {
			return await MediasoupSession.open(
				options.identity,
				signaling,
				fast ? { receive: options.subscribe, known: this.#known, ...(lobby ? { prepared: lobby.link } : {}) } : {},
			);
		} catch (error) {
			socket.disconnect();
			throw error;
		}
	}
}

class ParleySignaling implements MediasoupSignaling {
	readonly #socket: ParleySocket;
	readonly #timeoutMs: number;
	readonly #beforeConnect: ((transportId: string) => Promise<void>) | undefined;
	readonly #usePrepared: boolean;
	onCapabilities: ((capabilities: RtpCapabilities) => void) | undefined;

	constructor(socket: ParleySocket, timeoutMs: number, beforeConnect: ((transportId: string) => Promise<void>) | undefined, usePrepared: boolean) {
		this.#socket = socket;
		this.#timeoutMs = timeoutMs;
		this.#beforeConnect = beforeConnect;
		this.#usePrepared = usePrepared;
	}

	async #request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<ResponseData<K>> {
		const result = await emitWithAck(this.#socket, name, payload, this.#timeoutMs);
		if (!result.ok) throw new Error(`${name}: ${result.error.code}: ${result.error.message}`);
		return result.data;
	}

	async getRouterRtpCapabilities() {
		const { rtpCapabilities } = await this.#request('media:getRouterRtpCapabilities', {});
		this.onCapabilities?.(rtpCapabilities);
		return rtpCapabilities;
	}

	async join(rtpCapabilities: RtpCapabilities, receive: boolean, prepared?: string): Promise<Joined> {
		// As the browser does: consumers pushed with a moved participant's new producers.
		const answer = await this.#request('room:join', {
			rtpCapabilities,
			...(receive ? { receive, pushConsumers: true } : {}),
			...(prepared ? { prepared } : {}),
		});
		const producers: ProducerInfo[] = answer.peers.flatMap((p) => p.producers);
		return answer.receive ? { producers, receive: answer.receive } : { producers };
	}

	createTransport(direction: 'send' | 'recv') {
		return this.#request('media:createTransport', { direction });
	}

	async connectTransport(transportId: string, dtlsParameters: Parameters<MediasoupSignaling['connectTransport']>[1]) {
		await this.#beforeConnect?.(transportId);
		await this.#request('media:connectTransport', { transportId, dtlsParameters });
	}

	async produce(transportId: string, kind: 'audio' | 'video', rtpParameters: Parameters<MediasoupSignaling['produce']>[2]) {
		const source = kind === 'video' ? 'camera' : 'microphone';
		return (await this.#request('media:produce', { transportId, kind, rtpParameters, source })).producerId;
	}

	consume(transportId: string, producerId: string) {
		return this.#request('media:consume', { transportId, producerId });
	}

	async resumeConsumer(consumerId: string) {
		await this.#request('media:resumeConsumer', { consumerId });
	}

	onNewProducer(listener: (producer: ProducerInfo, pushed?: PushedConsumer) => void): void {
		this.#socket.on('producer:new', ({ consumer, ...producer }) => listener(producer, consumer));
	}

	onMediaReconnect(listener: (prepared?: PreparedSession) => void): void {
		this.#socket.on('media:reconnect', ({ prepared }) =>
			listener(prepared && this.#usePrepared ? { producers: prepared.peers.flatMap((p) => p.producers), receive: prepared.receive, send: prepared.send } : undefined),
		);
	}

	async close(): Promise<void> {
		this.#socket.disconnect();
	}
}
