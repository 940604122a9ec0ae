/**
 * One person's presence in one room: the signaling socket, the mediasoup-client Device,
 * one send and one receive transport, the local producers and the consumers of everyone
 * else's media. React reads it through subscribe()/getSnapshot() (useSyncExternalStore).
 *
 * Lifecycle: new → join() → (joined ⇄ reconnecting) → closed. close() is idempotent and
 * releases everything (socket, transports, local tracks).
 */
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import type { Manager, Socket } from 'socket.io-client';
import type {
	ClientToServerEvents,
	ConsumerOptions,
	MediaSource,
	NotificationMap,
	PeerInfo,
	ProducerInfo,
	RequestName,
	RequestPayload,
	ResponseData,
	Result,
	ServerToClientEvents,
	TransportOptions,
} from '../../../signaling/protocol/index.ts';
import { createManager } from './connection.ts';
import { getTrack, stopTrack } from './devices.ts';

type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type RoomStatus = 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface RoomClientError {
	/** A protocol ErrorCode, or a client-side code ('timeout', 'network', 'media', 'ended'). */
	code: string;
	message: string;
}

export interface RemoteParticipant {
	id: string;
	name: string;
	joinedAt: number;
	/** The camera (or else screen) track, while that producer is live and not paused. */
	videoTrack: MediaStreamTrack | null;
	/** The microphone track (also while paused: a paused producer just sends nothing). */
	audioTrack: MediaStreamTrack | null;
	/** No microphone producer, or it is paused. */
	audioMuted: boolean;
	videoOn: boolean;
}

export interface LocalMedia {
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	micOn: boolean;
	cameraOn: boolean;
	/** A toggle is in progress (to disable the button meanwhile). */
	micBusy: boolean;
	cameraBusy: boolean;
}

export interface RoomSnapshot {
	status: RoomStatus;
	room: string;
	self: { id: string; name: string } | null;
	participants: readonly RemoteParticipant[];
	local: LocalMedia;
	/** Why the session is closed (null when the person left on their own). */
	error: RoomClientError | null;
	/** A non-fatal problem to show for a while (e.g. the camera could not start). */
	notice: string | null;
}

export interface RoomClientOptions {
	token: string;
	room: string;
	name: string;
	/** Tracks from the lobby; the client owns (and eventually stops) them from now on. */
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	micOn: boolean;
	cameraOn: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
	/** Socket.IO server URL; default: this page's origin. */
	url?: string;
	/** An already open connection (see connection.ts) to use instead of opening one. */
	manager?: Manager | null;
}

export class RoomError extends Error {
	readonly code: string;
	constructor(code: string, message: string) {
		super(message);
		this.name = 'RoomError';
		this.code = code;
	}
}

const REQUEST_TIMEOUT_MS = 10_000;
const CAPABILITIES_KEY = 'parley.routerRtpCapabilities';

/**
 * Loading a Device costs a throw-away RTCPeerConnection and an SDP offer (tens of ms), so one
 * loaded Device is shared by every session with the same router capabilities, and the lobby
 * can load it ahead of time from the capabilities the server sent last time.
 */
let sharedDevice: { key: string; promise: Promise<Device> } | null = null;

function loadDevice(routerRtpCapabilities: msc.RtpCapabilities): Promise<Device> {
	const key = JSON.stringify(routerRtpCapabilities);
	if (sharedDevice?.key === key) return sharedDevice.promise;
	const promise = (async () => {
		const device = new Device();
		await device.load({ routerRtpCapabilities });
		return device;
	})();
	const entry = { key, promise };
	sharedDevice = entry;
	promise.then(
		() => {
			try {
				localStorage.setItem(CAPABILITIES_KEY, key);
			} catch {
				// Storage is only an optimisation.
			}
		},
		() => {
			if (sharedDevice === entry) sharedDevice = null;
		},
	);
	return promise;
}

/** Warm-up for the lobby: load the Device with the last known router capabilities. */
export function preloadDevice(): void {
	try {
		const saved = localStorage.getItem(CAPABILITIES_KEY);
		if (saved) loadDevice(JSON.parse(saved) as msc.RtpCapabilities).catch(() => {});
	} catch {
		// Nothing saved, or unusable: the session loads the Device itself.
	}
}

/** Three VP8 simulcast layers: 1/4, 1/2 and full resolution of a 1280x720 capture. */
const CAMERA_ENCODINGS: msc.RtpEncodingParameters[] = [
	{ scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
	{ scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
	{ scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];
const CAMERA_CODEC_OPTIONS: msc.ProducerCodecOptions = { videoGoogleStartBitrate: 1000 };
const MIC_CODEC_OPTIONS: msc.ProducerCodecOptions = { opusDtx: true, opusFec: true };

interface PeerRecord {
	id: string;
	name: string;
	joinedAt: number;
	producers: Map<string, ProducerInfo>;
}

interface ConsumerAppData extends msc.AppData {
	peerId: string;
	source: MediaSource;
}

interface ProducerAppData extends msc.AppData {
	source: MediaSource;
	paused: boolean;
}

type Listener = () => void;

/** Milestones as User Timing marks (`parley:*`), visible in the browser's performance tools. */
function mark(name: string): void {
	try {
		performance.mark(`parley:${name}`);
	} catch {
		// User Timing is optional.
	}
}

export class RoomClient {
	readonly room: string;
	readonly name: string;

	private readonly options: RoomClientOptions;
	private readonly socket: ParleySocket;
	private device: Device | null = null;
	private status: RoomStatus = 'connecting';
	private closed = false;
	private error: RoomClientError | null = null;
	private notice: string | null = null;
	private noticeTimer: ReturnType<typeof setTimeout> | null = null;
	private self: { id: string; name: string } | null = null;
	private serverRestarting = false;
	private joinPromise: Promise<void> | null = null;
	private reconnectTimer: ReturnType<typeof setTimeout> | null = null;

	/** Bumped on every (re)start and on close; async work of an older session drops its results. */
	private generation = 0;
	private peers = new Map<string, PeerRecord>();
	private sendTransport: msc.Transport | null = null;
	private sendTransportPromise: Promise<msc.Transport> | null = null;
	private recvTransport: msc.Transport | null = null;
	private recvTransportReady: Deferred<msc.Transport> = deferred();
	private consumers = new Map<string, msc.Consumer<ConsumerAppData>>();
	private consumerByProducer = new Map<string, string>();
	private consuming = new Set<string>();
	/** consume() calls under way (startSession waits for the first ones before producing). */
	private consumeTasks = new Set<Promise<void>>();
	private consumeInflight = 0;
	private consumeFlushTimer: ReturnType<typeof setTimeout> | null = null;
	private pendingConsumers: {
		transport: msc.Transport;
		options: ConsumerOptions;
		resolve: (value: { consumer: msc.Consumer<ConsumerAppData>; resumed: Promise<unknown> | null }) => void;
		reject: (reason: unknown) => void;
	}[] = [];
	/** The receive transport has started its DTLS connect (its first negotiation is under way). */
	private recvConnectStarted = false;
	private iceTimers = new Map<string, ReturnType<typeof setTimeout>>();

	private audioTrack: MediaStreamTrack | null;
	private videoTrack: MediaStreamTrack | null;
	private micOn: boolean;
	private cameraOn: boolean;
	private micProducer: msc.Producer<ProducerAppData> | null = null;
	private cameraProducer: msc.Producer<ProducerAppData> | null = null;
	private micQueue: Promise<void> = Promise.resolve();
	private cameraQueue: Promise<void> = Promise.resolve();
	private micBusy = 0;
	private cameraBusy = 0;

	private listeners = new Set<Listener>();
	private snapshot: RoomSnapshot;

	constructor(options: RoomClientOptions) {
		this.options = options;
		this.room = options.room;
		this.name = options.name;
		this.audioTrack = options.audioTrack;
		this.videoTrack = options.cameraOn ? options.videoTrack : null;
		if (!options.cameraOn) stopTrack(options.videoTrack);
		this.micOn = options.micOn && !!options.audioTrack;
		this.cameraOn = options.cameraOn && !!options.videoTrack;
		if (this.audioTrack) this.audioTrack.enabled = this.micOn;
		const manager = options.manager ?? createManager(options.url);
		this.socket = manager.socket('/', { auth: { token: options.token } }) as ParleySocket;
		this.snapshot = this.buildSnapshot();
	}

	// ---- React binding -------------------------------------------------------------

	readonly subscribe = (listener: Listener): (() => void) => {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	};

	readonly getSnapshot = (): RoomSnapshot => this.snapshot;

	private emitChange(): void {
		this.snapshot = this.buildSnapshot();
		for (const listener of [...this.listeners]) listener();
	}

	private buildSnapshot(): RoomSnapshot {
		const participants: RemoteParticipant[] = [...this.peers.values()]
			.sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id))
			.map((peer) => {
				const producers = [...peer.producers.values()];
				const mic = producers.find((p) => p.source === 'microphone') ?? producers.find((p) => p.kind === 'audio');
				const video =
					producers.find((p) => p.source === 'camera' && !p.paused) ??
					producers.find((p) => p.source === 'screen' && !p.paused) ??
					producers.find((p) => p.kind === 'video' && !p.paused);
				const videoTrack = video ? this.trackOf(video.id) : null;
				return {
					id: peer.id,
					name: peer.name,
					joinedAt: peer.joinedAt,
					videoTrack,
					audioTrack: mic ? this.trackOf(mic.id) : null,
					audioMuted: !mic || mic.paused,
					videoOn: !!videoTrack,
				};
			});
		return {
			status: this.status,
			room: this.room,
			self: this.self,
			participants,
			local: {
				audioTrack: this.audioTrack,
				videoTrack: this.videoTrack,
				micOn: this.micOn,
				cameraOn: this.cameraOn,
				micBusy: this.micBusy > 0,
				cameraBusy: this.cameraBusy > 0,
			},
			error: this.error,
			notice: this.notice,
		};
	}

	private trackOf(producerId: string): MediaStreamTrack | null {
		const consumerId = this.consumerByProducer.get(producerId);
		const consumer = consumerId ? this.consumers.get(consumerId) : undefined;
		return consumer && !consumer.closed ? consumer.track : null;
	}

	// ---- Session -------------------------------------------------------------------

	/** Connect and enter the room. Resolves once joined; rejects (and closes) on failure. */
	join(): Promise<void> {
		if (this.closed) return Promise.reject(new RoomError('closed', 'This session is closed.'));
		if (this.joinPromise) return this.joinPromise;
		const joined = deferred<void>();
		this.joinPromise = joined.promise;
		let initial = true;
		const s = this.socket;

		s.on('connect', () => {
			mark('socket-connected');
			const first = initial;
			initial = false;
			this.startSession().then(
				() => {
					if (first) joined.resolve();
				},
				(error: unknown) => {
					const err = toRoomError(error);
					if (first) joined.reject(err);
					this.fail(err);
				},
			);
		});
		s.on('connect_error', (err: Error & { data?: unknown }) => {
			const data = err.data as { code?: string; message?: string } | undefined;
			// Rejected by the server (bad token, room full...): socket.io will not retry.
			const rejected = !s.active || typeof data?.code === 'string';
			if (initial || rejected) {
				const e = rejected
					? new RoomError(data?.code ?? 'unauthorized', describeServerRejection(data?.code, data?.message ?? err.message))
					: new RoomError('network', 'Cannot reach the meeting server. Check your connection and try again.');
				if (initial) joined.reject(e);
				this.fail(e);
			}
		});
		s.on('disconnect', (reason) => {
			if (this.closed) return;
			if (reason === 'io server disconnect' && !this.serverRestarting) {
				this.fail(new RoomError('ended', 'The server ended this session.'));
				return;
			}
			// Transport loss: socket.io reconnects by itself; a new session starts on 'connect'.
			// A server restart closes the socket on purpose, so reconnect by hand after a moment.
			this.teardownSession();
			this.status = 'reconnecting';
			this.emitChange();
			if (reason === 'io server disconnect') {
				this.serverRestarting = false;
				this.reconnectTimer = setTimeout(() => {
					this.reconnectTimer = null;
					if (!this.closed) s.connect();
				}, 1000 + Math.random() * 1000);
			}
		});
		this.listen('peer:joined', (peer) => this.onPeerJoined(peer));
		this.listen('peer:left', ({ peerId }) => this.onPeerLeft(peerId));
		this.listen('producer:new', (producer) => this.onProducerNew(producer));
		this.listen('producer:closed', ({ producerId, peerId }) => this.onProducerClosed(peerId, producerId));
		this.listen('producer:paused', ({ producerId, peerId }) => this.onProducerPaused(peerId, producerId, true));
		this.listen('producer:resumed', ({ producerId, peerId }) => this.onProducerPaused(peerId, producerId, false));
		this.listen('consumer:closed', ({ consumerId }) => this.onConsumerClosed(consumerId));
		this.listen('session:ended', ({ reason }) => {
			if (reason === 'server-shutdown') {
				// Probably a restart or an upgrade: keep the call and come back when it is up again.
				this.serverRestarting = true;
				return;
			}
			const message =
				reason === 'duplicate-identity'
					? 'You joined this meeting from another tab or device, so this one was disconnected.'
					: 'The meeting has ended.';
			this.fail(new RoomError('ended', message));
		});
		mark('join-start');
		s.connect();
		return joined.promise;
	}

	private listen<K extends keyof NotificationMap>(event: K, handler: (payload: NotificationMap[K]) => void): void {
		const wrapped = (payload: NotificationMap[K]): void => {
			if (this.closed) return;
			try {
				handler(payload);
			} catch (error) {
				console.error(`[parley] ${event} handler failed`, error);
			}
		};
		// The mapped event types are too generic for the overloads here; the payload type is checked above.
		(this.socket.on as (ev: string, fn: (payload: NotificationMap[K]) => void) => void)(event, wrapped);
	}

	private async startSession(): Promise<void> {
		const generation = ++this.generation;
		this.status = this.status === 'reconnecting' ? 'reconnecting' : 'connecting';
		const { device, joinAnswer } = await this.loadDeviceAndJoin();
		if (generation !== this.generation) return;
		this.device = device;
		const { self, peers } = joinAnswer;
		mark('joined');
		this.self = { id: self.id, name: self.name };
		for (const peer of peers) if (peer.id !== self.id) this.onPeerJoined(peer);
		this.status = 'joined';
		this.emitChange();

		// Receive first: it is what the person waits for. The send transport is requested
		// alongside, but producing (encoder start-up is CPU-heavy) waits until the consumers of
		// the people already here are set up, or a short while at most.
		const recv = this.request('media:createTransport', { direction: 'recv' });
		const needsSend = this.needsSendTransport();
		if (needsSend) this.ensureSendTransport().catch(() => {});
		const recvOptions = await recv;
		if (generation !== this.generation) return;
		const transport = this.createTransport('recv', recvOptions, generation);
		mark('recv-transport-created');
		this.recvTransport = transport;
		this.recvTransportReady.resolve(transport);
		if (!needsSend) return;
		// Media from the others first: wait until their consumers are set up and the receive
		// transport is connected (or not much longer than that would take).
		const initialConsumers = Promise.allSettled([...this.consumeTasks]).then(() =>
			this.consumers.size === 0 || transport.connectionState === 'connected'
				? undefined
				: new Promise<void>((resolve) => {
						const done = (state: string): void => {
							if (state === 'connecting' || state === 'new') return;
							transport.off('connectionstatechange', done);
							resolve();
						};
						transport.on('connectionstatechange', done);
					}),
		);
		await Promise.race([initialConsumers, new Promise((resolve) => setTimeout(resolve, 400))]);
		if (generation !== this.generation) return;
		await this.startSending(generation);
	}

	/**
	 * The router capabilities and room:join. With a Device already loaded from the capabilities
	 * this server sent before (the usual case), both requests go out together, saving a round
	 * trip; if the capabilities turn out to have changed, join again with a fresh Device.
	 */
	private async loadDeviceAndJoin(): Promise<{ device: Device; joinAnswer: ResponseData<'room:join'> }> {
		const cached = sharedDevice;
		const preloaded = cached ? await cached.promise.then((device) => ({ key: cached.key, device }), () => null) : null;
		if (preloaded) {
			const capabilities = this.request('media:getRouterRtpCapabilities', {});
			const joining = this.request('room:join', { rtpCapabilities: preloaded.device.recvRtpCapabilities });
			joining.catch(() => {});
			const { rtpCapabilities } = await capabilities;
			if (JSON.stringify(rtpCapabilities) === preloaded.key) {
				mark('device-loaded');
				return { device: preloaded.device, joinAnswer: await joining };
			}
			mark('capabilities-changed');
			await joining.catch(() => {});
			const device = await loadDevice(rtpCapabilities);
			mark('device-loaded');
			// Joining again replaces the first join on the server.
			return { device, joinAnswer: await this.request('room:join', { rtpCapabilities: device.recvRtpCapabilities }) };
		}
		const { rtpCapabilities } = await this.request('media:getRouterRtpCapabilities', {});
		const device = await loadDevice(rtpCapabilities);
		mark('device-loaded');
		return { device, joinAnswer: await this.request('room:join', { rtpCapabilities: device.recvRtpCapabilities }) };
	}

	private needsSendTransport(): boolean {
		return !!this.audioTrack || (this.cameraOn && !!this.videoTrack);
	}

	private async startSending(generation: number): Promise<void> {
		try {
			await this.ensureSendTransport();
		} catch (error) {
			if (generation === this.generation) this.showNotice(`Could not start sending media: ${toRoomError(error).message}`);
			return;
		}
		if (generation !== this.generation) return;
		await Promise.all([
			this.audioTrack ? this.enqueue('mic', () => this.publishMic(generation)) : null,
			this.cameraOn && this.videoTrack ? this.enqueue('camera', () => this.publishCamera(generation)) : null,
		]);
	}

	private ensureSendTransport(): Promise<msc.Transport> {
		if (!this.sendTransportPromise) {
			const generation = this.generation;
			const promise = this.request('media:createTransport', { direction: 'send' }).then((options) => {
				if (generation !== this.generation) throw new RoomError('closed', 'Session restarted.');
				const transport = this.createTransport('send', options, generation);
				this.sendTransport = transport;
				return transport;
			});
			this.sendTransportPromise = promise;
			promise.catch(() => {
				if (this.sendTransportPromise === promise) this.sendTransportPromise = null;
			});
		}
		return this.sendTransportPromise;
	}

	private createTransport(direction: 'send' | 'recv', options: TransportOptions, generation: number): msc.Transport {
		const device = this.device!;
		const params = {
			id: options.id,
			iceParameters: options.iceParameters,
			iceCandidates: options.iceCandidates,
			dtlsParameters: options.dtlsParameters,
			// Gather ICE candidates from the start, not only once the first offer/answer is applied.
			additionalSettings: { iceCandidatePoolSize: 1 },
		};
		const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
		transport.on('connect', ({ dtlsParameters }, callback) => {
			if (direction === 'recv') this.recvConnectStarted = true;
			// Go on without waiting for the answer: the request is on its way before any ICE or
			// DTLS packet, so the server has the DTLS parameters by the time they arrive, and ICE
			// starts one round trip earlier. A failure shows up as a failed transport.
			this.request('media:connectTransport', { transportId: transport.id, dtlsParameters }).catch((error: unknown) => {
				if (generation !== this.generation || transport.closed) return;
				console.warn(`[parley] ${direction} transport connect failed`, error);
				this.showNotice(`Could not connect the ${direction === 'send' ? 'sending' : 'receiving'} media path: ${toRoomError(error).message}`);
			});
			callback();
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				const data = appData as Partial<ProducerAppData>;
				this.request('media:produce', {
					transportId: transport.id,
					kind,
					rtpParameters,
					source: data.source ?? (kind === 'audio' ? 'microphone' : 'camera'),
					...(data.paused ? { paused: true } : {}),
				}).then(({ producerId }) => callback({ id: producerId }), errback);
			});
		}
		transport.on('connectionstatechange', (state) => {
			mark(`${direction}-transport-${state}`);
			if (generation !== this.generation || transport.closed) return;
			const pending = this.iceTimers.get(transport.id);
			if (pending) clearTimeout(pending);
			this.iceTimers.delete(transport.id);
			if (state === 'failed') void this.restartIce(transport, generation);
			else if (state === 'disconnected') {
				// Often recovers by itself within a couple of seconds; restart ICE if it does not.
				this.iceTimers.set(
					transport.id,
					setTimeout(() => {
						this.iceTimers.delete(transport.id);
						if (transport.connectionState === 'disconnected') void this.restartIce(transport, generation);
					}, 2500),
				);
			}
		});
		return transport;
	}

	private async restartIce(transport: msc.Transport, generation: number): Promise<void> {
		try {
			const { iceParameters } = await this.request('media:restartIce', { transportId: transport.id });
			if (generation !== this.generation || transport.closed) return;
			await transport.restartIce({ iceParameters });
		} catch (error) {
			if (generation === this.generation) console.warn('[parley] ICE restart failed', error);
		}
	}

	/** Forget everything tied to the server-side session (for a reconnect or close); local tracks stay. */
	private teardownSession(): void {
		this.generation++;
		for (const timer of this.iceTimers.values()) clearTimeout(timer);
		this.iceTimers.clear();
		this.micProducer?.close();
		this.cameraProducer?.close();
		this.micProducer = this.cameraProducer = null;
		this.sendTransport?.close();
		this.recvTransport?.close();
		this.sendTransport = this.recvTransport = null;
		this.sendTransportPromise = null;
		this.recvTransportReady.reject(new RoomError('closed', 'Session closed.'));
		this.recvTransportReady = deferred();
		for (const consumer of this.consumers.values()) consumer.close();
		this.consumers.clear();
		this.consumerByProducer.clear();
		this.consuming.clear();
		this.consumeInflight = 0;
		if (this.consumeFlushTimer) clearTimeout(this.consumeFlushTimer);
		this.consumeFlushTimer = null;
		for (const pending of this.pendingConsumers.splice(0)) pending.reject(new RoomError('closed', 'Session closed.'));
		this.recvConnectStarted = false;
		this.peers.clear();
	}

	/** Leave the room politely, then close. Safe to call more than once. */
	async leave(): Promise<void> {
		if (this.closed) return;
		if (this.socket.connected) {
			try {
				await this.request('room:leave', {}, 2000);
			} catch {
				// Closing the socket tells the server as well.
			}
		}
		this.close();
	}

	/** Release everything. Idempotent. */
	close(error: RoomClientError | null = null): void {
		if (this.closed) return;
		this.closed = true;
		if (error) this.error = error;
		this.teardownSession();
		this.socket.removeAllListeners();
		this.socket.disconnect();
		stopTrack(this.audioTrack);
		stopTrack(this.videoTrack);
		this.audioTrack = this.videoTrack = null;
		if (this.noticeTimer) clearTimeout(this.noticeTimer);
		this.noticeTimer = null;
		if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
		this.reconnectTimer = null;
		this.status = 'closed';
		this.emitChange();
	}

	get isClosed(): boolean {
		return this.closed;
	}

	private fail(error: RoomError): void {
		this.close({ code: error.code, message: error.message });
	}

	// ---- Remote side ---------------------------------------------------------------

	private onPeerJoined(peer: PeerInfo): void {
		if (this.self && peer.id === this.self.id) return;
		let record = this.peers.get(peer.id);
		if (!record) {
			record = { id: peer.id, name: peer.name, joinedAt: peer.joinedAt, producers: new Map() };
			this.peers.set(peer.id, record);
		} else {
			record.name = peer.name;
			record.joinedAt = peer.joinedAt;
		}
		for (const producer of peer.producers) {
			record.producers.set(producer.id, { ...producer });
			this.startConsume(producer);
		}
		this.emitChange();
	}

	private onPeerLeft(peerId: string): void {
		const record = this.peers.get(peerId);
		if (!record) return;
		for (const producerId of record.producers.keys()) this.dropConsumerOf(producerId);
		this.peers.delete(peerId);
		this.emitChange();
	}

	private onProducerNew(producer: ProducerInfo): void {
		if (this.self && producer.peerId === this.self.id) return;
		let record = this.peers.get(producer.peerId);
		if (!record) {
			// Should not happen (peer:joined comes first); keep the media anyway.
			record = { id: producer.peerId, name: 'Guest', joinedAt: Date.now(), producers: new Map() };
			this.peers.set(producer.peerId, record);
		}
		record.producers.set(producer.id, { ...producer });
		this.startConsume(producer);
		this.emitChange();
	}

	private onProducerClosed(peerId: string, producerId: string): void {
		const record = this.peers.get(peerId);
		record?.producers.delete(producerId);
		this.dropConsumerOf(producerId);
		this.emitChange();
	}

	private onProducerPaused(peerId: string, producerId: string, paused: boolean): void {
		const producer = this.peers.get(peerId)?.producers.get(producerId);
		if (!producer || producer.paused === paused) return;
		producer.paused = paused;
		this.emitChange();
	}

	private onConsumerClosed(consumerId: string): void {
		const consumer = this.consumers.get(consumerId);
		if (!consumer) return;
		consumer.close();
		this.consumers.delete(consumerId);
		if (this.consumerByProducer.get(consumer.producerId) === consumerId) this.consumerByProducer.delete(consumer.producerId);
		this.emitChange();
	}

	private dropConsumerOf(producerId: string): void {
		const consumerId = this.consumerByProducer.get(producerId);
		if (!consumerId) return;
		this.consumerByProducer.delete(producerId);
		this.consumers.get(consumerId)?.close();
		this.consumers.delete(consumerId);
	}

	private producerExists(peerId: string, producerId: string): boolean {
		return this.peers.get(peerId)?.producers.has(producerId) ?? false;
	}

	private startConsume(producer: ProducerInfo): void {
		const task = this.consume(producer);
		this.consumeTasks.add(task);
		void task.finally(() => this.consumeTasks.delete(task));
	}

	/**
	 * Consume one remote producer. Answers that arrive close together are handed to
	 * mediasoup-client in one tick (flushConsumers), so they share one SDP negotiation.
	 */
	private async consume(producer: ProducerInfo): Promise<void> {
		const generation = this.generation;
		if (this.consumerByProducer.has(producer.id) || this.consuming.has(producer.id)) return;
		this.consuming.add(producer.id);
		try {
			const transport = this.recvTransport ?? (await this.recvTransportReady.promise);
			if (generation !== this.generation || !this.producerExists(producer.peerId, producer.id)) return;
			let options: ConsumerOptions;
			this.consumeInflight++;
			try {
				options = await this.request('media:consume', { transportId: transport.id, producerId: producer.id });
			} finally {
				if (generation === this.generation) this.consumeInflight--;
			}
			if (generation !== this.generation) return;
			mark(`consume-answered-${options.kind}`);
			const { consumer, resumed } = await new Promise<{ consumer: msc.Consumer<ConsumerAppData>; resumed: Promise<unknown> | null }>(
				(resolve, reject) => {
					this.pendingConsumers.push({ transport, options, resolve, reject });
					this.scheduleConsumerFlush();
				},
			);
			if (generation !== this.generation || !this.producerExists(producer.peerId, producer.id)) {
				consumer.close();
				return;
			}
			this.consumers.set(consumer.id, consumer);
			this.consumerByProducer.set(producer.id, consumer.id);
			consumer.on('trackended', () => this.onConsumerClosed(consumer.id));
			consumer.on('transportclose', () => {
				this.consumers.delete(consumer.id);
			});
			const record = this.peers.get(producer.peerId)?.producers.get(producer.id);
			if (record) record.paused = options.producerPaused;
			mark(`consumer-created-${consumer.kind}`);
			// Ask for media before re-rendering: the keyframe request goes out sooner.
			const resuming = resumed ?? this.request('media:resumeConsumer', { consumerId: consumer.id });
			this.emitChange();
			await resuming;
			mark(`consumer-resumed-${consumer.kind}`);
		} catch (error) {
			if (generation === this.generation && !this.closed && !(error instanceof RoomError && error.code === 'closed')) {
				const name = this.peers.get(producer.peerId)?.name ?? 'someone';
				console.warn('[parley] consume failed', error);
				if (this.producerExists(producer.peerId, producer.id)) {
					this.showNotice(`Could not receive ${producer.kind} from ${name}: ${toRoomError(error).message}`);
				}
			}
		} finally {
			if (generation === this.generation) this.consuming.delete(producer.id);
		}
	}

	private scheduleConsumerFlush(): void {
		if (this.consumeInflight === 0) {
			this.flushConsumers();
		} else if (!this.consumeFlushTimer) {
			// More answers are on the way (e.g. a camera and a microphone): wait for them briefly.
			this.consumeFlushTimer = setTimeout(() => this.flushConsumers(), 20);
		}
	}

	private flushConsumers(): void {
		if (this.consumeFlushTimer) clearTimeout(this.consumeFlushTimer);
		this.consumeFlushTimer = null;
		const batch = this.pendingConsumers.splice(0);
		for (const { transport, options, resolve, reject } of batch) {
			// Before the receive transport's first negotiation (the one these consumers are in), the
			// server can resume them right away: mediasoup asks for a keyframe once DTLS is up.
			const resumed = this.recvConnectStarted ? null : this.request('media:resumeConsumer', { consumerId: options.id });
			resumed?.catch(() => {});
			// Same tick for the whole batch: mediasoup-client negotiates them together.
			transport
				.consume<ConsumerAppData>({
					id: options.id,
					producerId: options.producerId,
					kind: options.kind,
					rtpParameters: options.rtpParameters,
					// Same stream id for a person's camera and microphone: the browser syncs their playout.
					streamId: `${options.peerId}-${options.source.startsWith('screen') ? 'screen' : 'user'}`,
					appData: { peerId: options.peerId, source: options.source },
				})
				.then((consumer) => resolve({ consumer, resumed }), reject);
		}
	}

	// ---- Local side ----------------------------------------------------------------

	private enqueue(kind: 'mic' | 'camera', task: () => Promise<void>): Promise<void> {
		if (kind === 'mic') this.micBusy++;
		else this.cameraBusy++;
		this.emitChange();
		const run = (kind === 'mic' ? this.micQueue : this.cameraQueue).then(task).finally(() => {
			if (kind === 'mic') this.micBusy--;
			else this.cameraBusy--;
			if (!this.closed) this.emitChange();
		});
		const settled = run.catch((error: unknown) => {
			if (!this.closed) this.showNotice(toRoomError(error).message);
		});
		if (kind === 'mic') this.micQueue = settled;
		else this.cameraQueue = settled;
		return settled;
	}

	private async publishMic(generation: number): Promise<void> {
		if (!this.audioTrack || this.micProducer || generation !== this.generation) return;
		const transport = await this.ensureSendTransport();
		if (generation !== this.generation || !this.audioTrack) return;
		const paused = !this.micOn;
		const producer = await transport.produce<ProducerAppData>({
			track: this.audioTrack,
			codecOptions: MIC_CODEC_OPTIONS,
			stopTracks: false,
			appData: { source: 'microphone', paused },
		});
		if (generation !== this.generation) {
			producer.close();
			return;
		}
		if (paused) producer.pause();
		this.micProducer = producer;
		producer.on('trackended', () => {
			this.showNotice('Your microphone stopped working.');
			void this.setMicEnabled(false);
		});
	}

	private async publishCamera(generation: number): Promise<void> {
		if (!this.videoTrack || this.cameraProducer || generation !== this.generation) return;
		const transport = await this.ensureSendTransport();
		if (generation !== this.generation || !this.videoTrack) return;
		const vp8 = this.device?.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
		const producer = await transport.produce<ProducerAppData>({
			track: this.videoTrack,
			encodings: CAMERA_ENCODINGS,
			codecOptions: CAMERA_CODEC_OPTIONS,
			...(vp8 ? { codec: vp8 } : {}),
			stopTracks: false,
			appData: { source: 'camera', paused: false },
		});
		if (generation !== this.generation) {
			producer.close();
			return;
		}
		this.cameraProducer = producer;
		producer.on('trackended', () => {
			this.showNotice('Your camera stopped working.');
			void this.setCameraEnabled(false);
		});
	}

	/** Mute/unmute: the producer stays, paused on both ends (others see the muted icon). */
	setMicEnabled(on: boolean): Promise<void> {
		return this.enqueue('mic', async () => {
			if (this.closed || on === this.micOn) return;
			const generation = this.generation;
			if (on && (!this.audioTrack || this.audioTrack.readyState === 'ended')) {
				this.micProducer?.close();
				if (this.micProducer) void this.request('media:closeProducer', { producerId: this.micProducer.id }).catch(() => {});
				this.micProducer = null;
				const track = await getTrack('audio', this.options.audioDeviceId).catch((error: unknown) => {
					throw new RoomError('media', error instanceof Error ? error.message : String(error));
				});
				if (this.closed) {
					track.stop();
					return;
				}
				this.audioTrack = track;
			}
			this.micOn = on;
			if (this.audioTrack) this.audioTrack.enabled = on;
			this.emitChange();
			if (this.status !== 'joined' || generation !== this.generation) return; // applied when (re)joining
			const producer = this.micProducer;
			if (!producer) {
				if (on) await this.publishMic(generation);
				return;
			}
			try {
				if (on) {
					producer.resume();
					await this.request('media:resumeProducer', { producerId: producer.id });
				} else {
					producer.pause();
					await this.request('media:pauseProducer', { producerId: producer.id });
				}
			} catch (error) {
				if (generation !== this.generation) return;
				// Put the local state back in line with what the others see.
				this.micOn = !on;
				if (this.audioTrack) this.audioTrack.enabled = !on;
				if (on) producer.pause();
				else producer.resume();
				throw error;
			}
		});
	}

	/** Camera off closes the producer and releases the camera; on captures and publishes again. */
	setCameraEnabled(on: boolean): Promise<void> {
		return this.enqueue('camera', async () => {
			if (this.closed || on === this.cameraOn) return;
			const generation = this.generation;
			if (!on) {
				this.cameraOn = false;
				const producer = this.cameraProducer;
				this.cameraProducer = null;
				producer?.close();
				stopTrack(this.videoTrack);
				this.videoTrack = null;
				this.emitChange();
				if (producer && this.status === 'joined') await this.request('media:closeProducer', { producerId: producer.id });
				return;
			}
			const track = await getTrack('video', this.options.videoDeviceId).catch((error: unknown) => {
				throw new RoomError('media', error instanceof Error ? error.message : String(error));
			});
			if (this.closed) {
				track.stop();
				return;
			}
			this.videoTrack = track;
			this.cameraOn = true;
			this.emitChange();
			if (this.status === 'joined' && generation === this.generation) {
				try {
					await this.publishCamera(generation);
				} catch (error) {
					if (this.videoTrack === track) {
						stopTrack(track);
						this.videoTrack = null;
						this.cameraOn = false;
					}
					throw error;
				}
			}
		});
	}

	private showNotice(message: string): void {
		if (this.closed) return;
		this.notice = message;
		if (this.noticeTimer) clearTimeout(this.noticeTimer);
		this.noticeTimer = setTimeout(() => {
			this.noticeTimer = null;
			this.notice = null;
			this.emitChange();
		}, 6000);
		this.emitChange();
	}

	dismissNotice(): void {
		if (!this.notice) return;
		if (this.noticeTimer) clearTimeout(this.noticeTimer);
		this.noticeTimer = null;
		this.notice = null;
		this.emitChange();
	}

	// ---- Signaling -----------------------------------------------------------------

	private async request<K extends RequestName>(
		name: K,
		payload: RequestPayload<K>,
		timeoutMs = REQUEST_TIMEOUT_MS,
	): Promise<ResponseData<K>> {
		if (this.closed && name !== 'room:leave') throw new RoomError('closed', 'This session is closed.');
		// The generic event maps defeat socket.io's overload resolution; the types are enforced by this signature.
		const socket = this.socket.timeout(timeoutMs) as unknown as {
			emitWithAck(event: K, payload: RequestPayload<K>): Promise<Result<ResponseData<K>>>;
		};
		let result: Result<ResponseData<K>>;
		try {
			result = await socket.emitWithAck(name, payload);
		} catch {
			throw new RoomError('timeout', `The server did not answer (${name}).`);
		}
		if (!result || typeof result !== 'object' || !('ok' in result)) {
			throw new RoomError('internal', `Malformed answer to ${name}.`);
		}
		if (!result.ok) throw new RoomError(result.error.code, result.error.message);
		return result.data;
	}
}

// ---- helpers ----------------------------------------------------------------------

interface Deferred<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (reason: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
	let resolve!: (value: T) => void;
	let reject!: (reason: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	promise.catch(() => {}); // a session torn down before anyone waited is not an error
	return { promise, resolve, reject };
}

export function toRoomError(error: unknown): RoomError {
	if (error instanceof RoomError) return error;
	if (error instanceof Error) return new RoomError('internal', error.message);
	return new RoomError('internal', String(error));
}

function describeServerRejection(code: string | undefined, message: string): string {
	const detail = message.replace(/^unauthorized:\s*/i, '');
	switch (code) {
		case 'unauthorized':
			return `Your meeting link is not valid (${detail}). Ask for a new invitation link.`;
		case 'forbidden':
			return `You are not allowed to join this meeting (${detail}).`;
		case 'rate_limited':
			return 'Too many attempts; wait a moment and try again.';
		default:
			return detail || 'The server refused the connection.';
	}
}
