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
	PeerQuality,
	ProducerInfo,
	RequestName,
	RequestPayload,
	ResponseData,
	ServerToClientEvents,
	TransportOptions,
} from '../../../signaling/protocol/index.ts';
import { createManager } from './connection.ts';
import { getDisplayTrack, getTrack, stopTrack } from './devices.ts';
import {
	cameraCodecOptions,
	cameraSimulcastEncodings,
	cameraSvcEncodings,
	ICE_DISCONNECTED_RESTART_MS,
	micCodecOptions,
	SCREEN_CODEC_OPTIONS,
	screenEncodings,
} from './encodings.ts';
import { JitterBufferTuner } from './receiverTuning.ts';
import { tuning } from './tuning.ts';
import { wire } from './wire.ts';
import { emitWithAck } from '../../../signaling/protocol/request.ts';

type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type RoomStatus = 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface RoomClientError {
	/** A protocol ErrorCode, or a client-side code ('timeout', 'network', 'media', 'ended'). */
	code: string;
	message: string;
}

/** The layers the SFU forwards to this client for one consumer (null: none / not known). */
export interface ConsumerLayers {
	spatialLayer: number | null;
	temporalLayer: number | null;
}

export interface RemoteVideo {
	consumerId: string;
	track: MediaStreamTrack;
	/** What the SFU last said it forwards (null until it says). */
	layers: ConsumerLayers | null;
}

export interface RemoteParticipant {
	id: string;
	name: string;
	joinedAt: number;
	/** The camera track, while that producer is live and not paused. */
	videoTrack: MediaStreamTrack | null;
	/** The consumer of videoTrack (for viewport reports). */
	videoConsumerId: string | null;
	/** Layers of the camera consumer. */
	videoLayers: ConsumerLayers | null;
	/** The microphone track (also while paused: a paused producer just sends nothing). */
	audioTrack: MediaStreamTrack | null;
	/** No microphone producer, or it is paused. */
	audioMuted: boolean;
	videoOn: boolean;
	/** Their screen share, while live. */
	screen: RemoteVideo | null;
	/** Connection quality as the SFU sees it (null until the first measurement). */
	quality: PeerQuality | null;
}

/** How a remote video is shown, in device pixels (see media:setViewports). */
export interface TileViewport {
	width: number;
	height: number;
	visible: boolean;
}

export interface LocalMedia {
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	micOn: boolean;
	cameraOn: boolean;
	/** A toggle is in progress (to disable the button meanwhile). */
	micBusy: boolean;
	cameraBusy: boolean;
	/** The screen being shared (the local capture), if any. */
	screenTrack: MediaStreamTrack | null;
	screenOn: boolean;
	screenBusy: boolean;
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
	/** The dominant speaker (a remote peer id or our own), as the SFU hears it. */
	activeSpeaker: string | null;
	/** Our own connection quality as the SFU sees it. */
	selfQuality: PeerQuality | null;
	/** The room's video codec (null before joining). */
	videoCodec: 'vp8' | 'vp9' | null;
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
	/** Resolves once the meeting lets this connection in (waiting room); a rejection ends the session. */
	admission?: () => Promise<void>;
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

/** Viewport reports: the first change goes out at once, then at most one batch per this many ms. */
const VIEWPORT_INTERVAL_MS = 150;
/** How often receivers are re-tuned from their stats (ms). */
const TUNING_INTERVAL_MS = 1000;

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
	/** Capture size of the top layer (video). */
	dimensions?: { width: number; height: number };
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

/** A duration as a User Timing measure (`parley:*`), from `start` (performance.now()) to now. */
function measure(name: string, start: number): void {
	try {
		performance.measure(`parley:${name}`, { start, end: performance.now() });
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
	private iceAttempts = new Map<string, number>();

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
	private screenTrack: MediaStreamTrack | null = null;
	private screenProducer: msc.Producer<ProducerAppData> | null = null;
	private screenQueue: Promise<void> = Promise.resolve();
	private screenBusy = 0;

	private videoCodec: 'vp8' | 'vp9' | null = null;
	private activeSpeaker: string | null = null;
	private quality = new Map<string, PeerQuality>();
	private consumerLayers = new Map<string, ConsumerLayers>();

	/** Latest viewport per video consumer, and what was last sent for it. */
	private viewports = new Map<string, TileViewport>();
	private sentViewports = new Map<string, string>();
	private viewportTimer: ReturnType<typeof setTimeout> | null = null;
	private lastViewportFlush = 0;

	/** Dynacast: the highest spatial layer the SFU wants per local producer, and what is applied. */
	private wantedLayers = new Map<string, number>();
	private appliedLayers = new Map<string, number>();
	private layerTasks = new Map<string, Promise<void>>();

	private tuner = new JitterBufferTuner();
	private tuningTimer: ReturnType<typeof setInterval> | null = null;

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
				const camera =
					producers.find((p) => p.source === 'camera' && !p.paused) ??
					producers.find((p) => p.kind === 'video' && p.source !== 'screen' && !p.paused);
				const screenProducer = producers.find((p) => p.source === 'screen' && !p.paused);
				const video = camera ? this.videoOf(camera.id) : null;
				const screen = screenProducer ? this.videoOf(screenProducer.id) : null;
				return {
					id: peer.id,
					name: peer.name,
					joinedAt: peer.joinedAt,
					videoTrack: video?.track ?? null,
					videoConsumerId: video?.consumerId ?? null,
					videoLayers: video?.layers ?? null,
					audioTrack: mic ? this.trackOf(mic.id) : null,
					audioMuted: !mic || mic.paused,
					videoOn: !!video,
					screen,
					quality: this.quality.get(peer.id) ?? null,
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
				screenTrack: this.screenTrack,
				screenOn: !!this.screenTrack,
				screenBusy: this.screenBusy > 0,
			},
			error: this.error,
			notice: this.notice,
			activeSpeaker: this.activeSpeaker,
			selfQuality: this.self ? (this.quality.get(this.self.id) ?? null) : null,
			videoCodec: this.videoCodec,
		};
	}

	private trackOf(producerId: string): MediaStreamTrack | null {
		const consumerId = this.consumerByProducer.get(producerId);
		const consumer = consumerId ? this.consumers.get(consumerId) : undefined;
		return consumer && !consumer.closed ? consumer.track : null;
	}

	private videoOf(producerId: string): RemoteVideo | null {
		const consumerId = this.consumerByProducer.get(producerId);
		const consumer = consumerId ? this.consumers.get(consumerId) : undefined;
		if (!consumer || consumer.closed) return null;
		return { consumerId: consumer.id, track: consumer.track, layers: this.consumerLayers.get(consumer.id) ?? null };
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
		this.listen('consumer:layers', ({ consumerId, spatialLayer, temporalLayer }) => {
			if (!this.consumers.has(consumerId)) return;
			mark(`consumer-layers-${spatialLayer ?? 'none'}`);
			this.consumerLayers.set(consumerId, { spatialLayer, temporalLayer });
			this.emitChange();
		});
		this.listen('producer:layers', ({ producerId, maxSpatialLayer }) => this.onProducerLayers(producerId, maxSpatialLayer));
		this.listen('speaker:active', ({ peerId }) => {
			if (peerId === this.activeSpeaker) return;
			this.activeSpeaker = peerId;
			this.emitChange();
		});
		this.listen('quality:update', ({ peers }) => {
			this.quality = new Map(peers.map((q) => [q.peerId, q]));
			this.emitChange();
		});
		this.listen('media:reconnect', () => {
			// The server moved this participant off a lost worker: same connection, new media
			// session (room:join again keeps the participant), shown as reconnecting meanwhile.
			this.teardownSession();
			this.status = 'reconnecting';
			this.emitChange();
			this.startSession().catch((error: unknown) => this.fail(toRoomError(error)));
		});
		this.listen('session:ended', ({ reason }) => {
			if (reason === 'server-shutdown') {
				// Probably a restart or an upgrade: keep the call and come back when it is up again.
				this.serverRestarting = true;
				return;
			}
			const message =
				reason === 'duplicate-identity'
					? 'You joined this meeting from another tab or device, so this one was disconnected.'
					: reason === 'removed'
						? 'A host removed you from this meeting.'
						: reason === 'meeting-ended'
							? 'A host ended the meeting for everyone.'
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
		if (this.options.admission) {
			await this.options.admission();
			if (generation !== this.generation) return;
		}
		const { device, joinAnswer } = await this.loadDeviceAndJoin();
		if (generation !== this.generation) return;
		this.device = device;
		const { self, peers } = joinAnswer;
		mark('joined');
		this.self = { id: self.id, name: self.name };
		this.videoCodec = joinAnswer.videoCodec;
		this.activeSpeaker = joinAnswer.activeSpeaker;
		this.startTuning(generation);
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
			const device = await loadDevice(wire.rtpCapabilities(rtpCapabilities));
			mark('device-loaded');
			// Joining again replaces the first join on the server.
			return { device, joinAnswer: await this.request('room:join', { rtpCapabilities: device.recvRtpCapabilities }) };
		}
		const { rtpCapabilities } = await this.request('media:getRouterRtpCapabilities', {});
		const device = await loadDevice(wire.rtpCapabilities(rtpCapabilities));
		mark('device-loaded');
		return { device, joinAnswer: await this.request('room:join', { rtpCapabilities: device.recvRtpCapabilities }) };
	}

	private needsSendTransport(): boolean {
		return !!this.audioTrack || (this.cameraOn && !!this.videoTrack) || this.liveScreenTrack() !== null;
	}

	private liveScreenTrack(): MediaStreamTrack | null {
		return this.screenTrack && this.screenTrack.readyState === 'live' ? this.screenTrack : null;
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
			this.liveScreenTrack() ? this.enqueue('screen', () => this.publishScreen(generation)) : null,
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
			...wire.transportOptions(options),
			// TURN servers with a credential minted for us (none when the server has no TURN).
			iceServers: options.iceServers,
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
					...(data.dimensions ? { dimensions: data.dimensions } : {}),
				}).then(({ producerId }) => callback({ id: producerId }), errback);
			});
		}
		transport.on('connectionstatechange', (state) => {
			mark(`${direction}-transport-${state}`);
			if (generation !== this.generation || transport.closed) return;
			if (state === 'connected') this.iceAttempts.delete(transport.id);
			if (state === 'failed') {
				this.clearIceTimer(transport.id);
				void this.restartIce(transport, generation);
			} else if (state === 'disconnected') {
				// Often recovers by itself within a couple of seconds; restart ICE if it does not.
				this.scheduleIceRestart(transport, generation, ICE_DISCONNECTED_RESTART_MS);
			} else if (state === 'connected' || state === 'closed') {
				this.clearIceTimer(transport.id);
			}
		});
		return transport;
	}

	private clearIceTimer(transportId: string): void {
		const pending = this.iceTimers.get(transportId);
		if (pending) clearTimeout(pending);
		this.iceTimers.delete(transportId);
	}

	private scheduleIceRestart(transport: msc.Transport, generation: number, delayMs: number): void {
		this.clearIceTimer(transport.id);
		this.iceTimers.set(
			transport.id,
			setTimeout(() => {
				this.iceTimers.delete(transport.id);
				if (generation !== this.generation || transport.closed) return;
				if (transport.connectionState !== 'connected') void this.restartIce(transport, generation);
			}, delayMs),
		);
	}

	/**
	 * New ICE credentials from the server, then an ICE restart on our side. While the path
	 * stays down the restart is retried (backing off to 8 s), so the call comes back soon
	 * after the network does, without a rejoin.
	 */
	private async restartIce(transport: msc.Transport, generation: number): Promise<void> {
		const attempt = (this.iceAttempts.get(transport.id) ?? 0) + 1;
		this.iceAttempts.set(transport.id, attempt);
		mark(`ice-restart-${transport.direction}`);
		try {
			const { iceParameters, iceServers } = await this.request('media:restartIce', { transportId: transport.id });
			if (generation !== this.generation || transport.closed) return;
			// Fresh TURN credentials first: the old ones may have expired during a long call.
			if (iceServers.length > 0) await transport.updateIceServers({ iceServers });
			await transport.restartIce({ iceParameters });
		} catch (error) {
			if (generation === this.generation) console.warn('[parley] ICE restart failed', error);
		}
		if (generation !== this.generation || transport.closed) return;
		if (transport.connectionState !== 'connected') {
			this.scheduleIceRestart(transport, generation, Math.min(8000, 2000 * attempt));
		}
	}

	/** Forget everything tied to the server-side session (for a reconnect or close); local tracks stay. */
	private teardownSession(): void {
		this.generation++;
		for (const timer of this.iceTimers.values()) clearTimeout(timer);
		this.iceTimers.clear();
		this.iceAttempts.clear();
		this.micProducer?.close();
		this.cameraProducer?.close();
		this.screenProducer?.close();
		this.micProducer = this.cameraProducer = this.screenProducer = null;
		this.wantedLayers.clear();
		this.appliedLayers.clear();
		this.layerTasks.clear();
		this.viewports.clear();
		this.sentViewports.clear();
		if (this.viewportTimer) clearTimeout(this.viewportTimer);
		this.viewportTimer = null;
		this.consumerLayers.clear();
		this.quality.clear();
		this.activeSpeaker = null;
		if (this.tuningTimer) clearInterval(this.tuningTimer);
		this.tuningTimer = null;
		this.tuner.reset();
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
		stopTrack(this.screenTrack);
		this.audioTrack = this.videoTrack = this.screenTrack = null;
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
		this.forgetConsumer(consumerId);
		if (this.consumerByProducer.get(consumer.producerId) === consumerId) this.consumerByProducer.delete(consumer.producerId);
		this.emitChange();
	}

	private forgetConsumer(consumerId: string): void {
		this.viewports.delete(consumerId);
		this.sentViewports.delete(consumerId);
		this.consumerLayers.delete(consumerId);
	}

	private dropConsumerOf(producerId: string): void {
		const consumerId = this.consumerByProducer.get(producerId);
		if (!consumerId) return;
		this.consumerByProducer.delete(producerId);
		this.consumers.get(consumerId)?.close();
		this.consumers.delete(consumerId);
		this.forgetConsumer(consumerId);
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
					rtpParameters: wire.rtpParameters(options.rtpParameters),
					// Same stream id for a person's camera and microphone: the browser syncs their playout.
					streamId: `${options.peerId}-${options.source.startsWith('screen') ? 'screen' : 'user'}`,
					appData: { peerId: options.peerId, source: options.source },
				})
				.then((consumer) => resolve({ consumer, resumed }), reject);
		}
	}

	// ---- Local side ----------------------------------------------------------------

	private enqueue(kind: 'mic' | 'camera' | 'screen', task: () => Promise<void>): Promise<void> {
		const busy = (delta: number): void => {
			if (kind === 'mic') this.micBusy += delta;
			else if (kind === 'camera') this.cameraBusy += delta;
			else this.screenBusy += delta;
		};
		busy(1);
		this.emitChange();
		const queue = kind === 'mic' ? this.micQueue : kind === 'camera' ? this.cameraQueue : this.screenQueue;
		const run = queue.then(task).finally(() => {
			busy(-1);
			if (!this.closed) this.emitChange();
		});
		const settled = run.catch((error: unknown) => {
			if (!this.closed) this.showNotice(toRoomError(error).message);
		});
		if (kind === 'mic') this.micQueue = settled;
		else if (kind === 'camera') this.cameraQueue = settled;
		else this.screenQueue = settled;
		return settled;
	}

	private async publishMic(generation: number): Promise<void> {
		if (!this.audioTrack || this.micProducer || generation !== this.generation) return;
		const transport = await this.ensureSendTransport();
		if (generation !== this.generation || !this.audioTrack) return;
		const paused = !this.micOn;
		const producer = await transport.produce<ProducerAppData>({
			track: this.audioTrack,
			codecOptions: micCodecOptions(),
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

	/** VP9 SVC when the room asks for it and this browser can send L3T3_KEY, VP8 simulcast otherwise. */
	private cameraCodec(): { codec: msc.RtpCodecCapability | undefined; svc: boolean } {
		const codecs = this.device?.rtpCapabilities.codecs ?? [];
		const find = (mime: string) => codecs.find((c) => c.mimeType.toLowerCase() === mime);
		if (this.videoCodec === 'vp9') {
			const vp9 = find('video/vp9');
			if (vp9 && canSendSvc('video/VP9', 'L3T3_KEY')) return { codec: vp9, svc: true };
		}
		return { codec: find('video/vp8'), svc: false };
	}

	private async publishCamera(generation: number): Promise<void> {
		if (!this.videoTrack || this.cameraProducer || generation !== this.generation) return;
		const transport = await this.ensureSendTransport();
		if (generation !== this.generation || !this.videoTrack) return;
		const { codec, svc } = this.cameraCodec();
		const dimensions = trackDimensions(this.videoTrack);
		const producer = await transport.produce<ProducerAppData>({
			track: this.videoTrack,
			encodings: svc ? cameraSvcEncodings() : cameraSimulcastEncodings(),
			codecOptions: cameraCodecOptions(),
			...(codec ? { codec } : {}),
			stopTracks: false,
			appData: { source: 'camera', paused: false, ...(dimensions ? { dimensions } : {}) },
		});
		if (generation !== this.generation) {
			producer.close();
			return;
		}
		this.cameraProducer = producer;
		// A camera keeps its frame rate and gives up resolution when bits are short (a face at
		// a lower resolution beats a slide show).
		const degradation = tuning().cameraDegradation;
		if (degradation) void setDegradationPreference(producer, degradation);
		producer.on('trackended', () => {
			this.showNotice('Your camera stopped working.');
			void this.setCameraEnabled(false);
		});
		this.applyProducerLayers(producer);
	}

	private async publishScreen(generation: number): Promise<void> {
		const track = this.liveScreenTrack();
		if (!track || this.screenProducer || generation !== this.generation) return;
		const transport = await this.ensureSendTransport();
		if (generation !== this.generation || this.liveScreenTrack() !== track) return;
		const { codec } = this.cameraCodec();
		const dimensions = trackDimensions(track);
		const producer = await transport.produce<ProducerAppData>({
			track,
			encodings: screenEncodings(),
			codecOptions: SCREEN_CODEC_OPTIONS,
			...(codec ? { codec } : {}),
			stopTracks: false,
			appData: { source: 'screen', paused: false, ...(dimensions ? { dimensions } : {}) },
		});
		if (generation !== this.generation || this.screenTrack !== track) {
			producer.close();
			if (generation === this.generation) void this.request('media:closeProducer', { producerId: producer.id }).catch(() => {});
			return;
		}
		this.screenProducer = producer;
		// Text must stay readable: fewer frames rather than fewer pixels.
		void setDegradationPreference(producer, 'maintain-resolution');
		producer.on('trackended', () => void this.setScreenShareEnabled(false));
		this.applyProducerLayers(producer);
	}

	/**
	 * Share a screen, window or tab (the browser asks which), or stop sharing. Sharing also
	 * stops when the person uses the browser's own "Stop sharing" button.
	 */
	setScreenShareEnabled(on: boolean): Promise<void> {
		return this.enqueue('screen', async () => {
			if (this.closed) return;
			if (on ? this.liveScreenTrack() : !this.screenTrack && !this.screenProducer) return;
			const generation = this.generation;
			if (!on) {
				const producer = this.screenProducer;
				this.screenProducer = null;
				producer?.close();
				stopTrack(this.screenTrack);
				this.screenTrack = null;
				this.emitChange();
				if (producer && this.status === 'joined') {
					await this.request('media:closeProducer', { producerId: producer.id }).catch(() => {});
				}
				return;
			}
			let track: MediaStreamTrack;
			try {
				track = await getDisplayTrack();
			} catch (error) {
				// Cancelling the browser's picker is not an error worth a notice.
				if (error instanceof DOMException && error.name === 'NotAllowedError') return;
				throw new RoomError('media', error instanceof Error ? error.message : String(error));
			}
			if (this.closed) {
				track.stop();
				return;
			}
			track.addEventListener('ended', () => {
				if (this.screenTrack === track) void this.setScreenShareEnabled(false);
			});
			this.screenTrack = track;
			this.emitChange();
			if (this.status === 'joined' && generation === this.generation) {
				try {
					await this.publishScreen(generation);
				} catch (error) {
					if (this.screenTrack === track) {
						stopTrack(track);
						this.screenTrack = null;
					}
					throw error;
				}
			}
		});
	}

	// ---- Dynacast (publisher side) -------------------------------------------------

	private onProducerLayers(producerId: string, maxSpatialLayer: number): void {
		this.wantedLayers.set(producerId, maxSpatialLayer);
		const producer = [this.cameraProducer, this.screenProducer].find((p) => p?.id === producerId);
		if (producer) this.applyProducerLayers(producer);
	}

	/**
	 * Encode only what the SFU says someone watches: simulcast encodings above the wanted
	 * layer are set inactive (all of them for -1); an SVC or single-encoding producer is
	 * switched off and on as a whole. One change at a time per producer, the latest wins.
	 */
	private applyProducerLayers(producer: msc.Producer<ProducerAppData>): void {
		if (this.layerTasks.has(producer.id)) return;
		const task = (async () => {
			for (;;) {
				const wanted = this.wantedLayers.get(producer.id);
				if (wanted === undefined || producer.closed || wanted === this.appliedLayers.get(producer.id)) break;
				const start = performance.now();
				try {
					const encodings = producer.rtpParameters.encodings ?? [];
					if (encodings.length > 1) {
						// Straight on the sender first (quick: what a new viewer waits for), then through
						// mediasoup-client, which renegotiates to mark the paused layers in the SDP (else a
						// later renegotiation would turn them back on).
						await setEncodingsActive(producer, (i) => i <= wanted);
						measure(`dynacast-sender-${producer.appData.source}-${wanted}`, start);
						await producer.setMaxSpatialLayer(wanted);
					} else {
						await setEncodingsActive(producer, () => wanted >= 0);
					}
				} catch (error) {
					if (!producer.closed) console.warn('[parley] dynacast change failed', error);
					break;
				}
				this.appliedLayers.set(producer.id, wanted);
				measure(`dynacast-${producer.appData.source}-${wanted}`, start);
			}
		})().finally(() => this.layerTasks.delete(producer.id));
		this.layerTasks.set(producer.id, task);
	}

	// ---- Viewports (receiver side) -------------------------------------------------

	/**
	 * A tile's rendered size and visibility for a remote video. Reports are batched: the
	 * first change after a quiet spell goes out at once (a layout switch should not wait),
	 * later ones at most every VIEWPORT_INTERVAL_MS.
	 */
	readonly reportViewport = (consumerId: string, viewport: TileViewport): void => {
		if (this.closed || !this.consumers.has(consumerId)) return;
		this.viewports.set(consumerId, viewport);
		if (this.viewportTimer) return;
		const wait = Math.max(0, this.lastViewportFlush + VIEWPORT_INTERVAL_MS - performance.now());
		this.viewportTimer = setTimeout(() => this.flushViewports(), wait);
	};

	private flushViewports(): void {
		this.viewportTimer = null;
		if (this.closed || this.status !== 'joined') return;
		const batch: (TileViewport & { consumerId: string })[] = [];
		for (const [consumerId, viewport] of this.viewports) {
			const consumer = this.consumers.get(consumerId);
			if (!consumer || consumer.kind !== 'video') continue;
			const key = `${viewport.width}x${viewport.height}:${viewport.visible}`;
			if (this.sentViewports.get(consumerId) === key) continue;
			this.sentViewports.set(consumerId, key);
			batch.push({ consumerId, ...viewport });
		}
		if (batch.length === 0) return;
		this.lastViewportFlush = performance.now();
		mark('viewports-sent');
		for (let i = 0; i < batch.length; i += 200) {
			const viewports = batch.slice(i, i + 200);
			this.request('media:setViewports', { viewports }).catch((error: unknown) => {
				// Send again with the next report.
				for (const v of viewports) this.sentViewports.delete(v.consumerId);
				if (!this.closed) console.warn('[parley] viewport report failed', error);
			});
		}
	}

	// ---- Receiver tuning and stats -------------------------------------------------

	private startTuning(generation: number): void {
		if (this.tuningTimer) clearInterval(this.tuningTimer);
		this.tuningTimer = setInterval(() => {
			const transport = this.recvTransport;
			if (generation !== this.generation || !transport || transport.closed || this.consumers.size === 0) return;
			if (!tuning().jitterBuffer) return;
			transport.getStats().then(
				(report) => {
					if (generation !== this.generation) return;
					this.tuner.update(report, [...this.consumers.values()], (peerId) => this.quality.get(peerId)?.rttMs ?? null);
				},
				() => {},
			);
		}, TUNING_INTERVAL_MS);
	}

	/** Raw WebRTC stats of both transports (for the stats panel). */
	async getTransportStats(): Promise<{ send: RTCStatsReport | null; recv: RTCStatsReport | null }> {
		const read = (t: msc.Transport | null): Promise<RTCStatsReport | null> =>
			t && !t.closed ? t.getStats().catch(() => null) : Promise.resolve(null);
		const [send, recv] = await Promise.all([read(this.sendTransport), read(this.recvTransport)]);
		return { send, recv };
	}

	/** What each receiving track is (to label inbound stats). */
	describeConsumers(): ConsumerDescription[] {
		return [...this.consumers.values()].map((c) => ({
			consumerId: c.id,
			trackId: c.track.id,
			peerId: c.appData.peerId,
			peerName: this.peers.get(c.appData.peerId)?.name ?? 'Guest',
			kind: c.kind,
			source: c.appData.source,
			layers: this.consumerLayers.get(c.id) ?? null,
			jitterBufferTargetMs: this.tuner.targetFor(c.id),
		}));
	}

	/** The local producers and the highest layer dynacast lets each encode. */
	describeProducers(): ProducerDescription[] {
		return [this.micProducer, this.cameraProducer, this.screenProducer]
			.filter((p): p is msc.Producer<ProducerAppData> => !!p && !p.closed)
			.map((p) => ({
				producerId: p.id,
				source: p.appData.source,
				kind: p.kind,
				encodings: p.rtpParameters.encodings?.length ?? 0,
				maxSpatialLayer: this.appliedLayers.get(p.id) ?? null,
			}));
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
		const result = await emitWithAck(this.socket, name, payload, timeoutMs);
		if (!result.ok && result.error.code === 'timeout') throw new RoomError('timeout', `The server did not answer (${name}).`);
		if (!result.ok) throw new RoomError(result.error.code, result.error.message);
		return result.data;
	}
}

// ---- helpers ----------------------------------------------------------------------

export interface ConsumerDescription {
	consumerId: string;
	trackId: string;
	peerId: string;
	peerName: string;
	kind: 'audio' | 'video';
	source: MediaSource;
	layers: ConsumerLayers | null;
	/** The receiver's jitter buffer target set by the loss tuner (null: the browser's default). */
	jitterBufferTargetMs: number | null;
}

export interface ProducerDescription {
	producerId: string;
	source: MediaSource;
	kind: 'audio' | 'video';
	encodings: number;
	/** What dynacast last applied (null: never asked; -1: nothing encoded). */
	maxSpatialLayer: number | null;
}

function trackDimensions(track: MediaStreamTrack): { width: number; height: number } | null {
	const { width, height } = track.getSettings();
	return width && height ? { width: Math.round(width), height: Math.round(height) } : null;
}

/** Whether this browser can send a codec with a scalability mode (Chromium lists them). */
function canSendSvc(mimeType: string, mode: string): boolean {
	const codecs = (typeof RTCRtpSender !== 'undefined' && RTCRtpSender.getCapabilities?.('video')?.codecs) || [];
	const codec = codecs.find((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase()) as
		| (RTCRtpCodec & { scalabilityModes?: string[] })
		| undefined;
	return !!codec && (!codec.scalabilityModes || codec.scalabilityModes.includes(mode));
}

async function setDegradationPreference(producer: msc.Producer, preference: RTCDegradationPreference): Promise<void> {
	const sender = producer.rtpSender;
	if (!sender) return;
	try {
		const parameters = sender.getParameters();
		if (parameters.degradationPreference === preference) return;
		await sender.setParameters({ ...parameters, degradationPreference: preference });
	} catch {
		// Not supported by every browser; the default (balanced) is fine too.
	}
}

/** Turn encodings on or off straight on the RTCRtpSender (no SDP renegotiation). */
async function setEncodingsActive(producer: msc.Producer, active: (index: number) => boolean): Promise<void> {
	const sender = producer.rtpSender;
	if (!sender) return;
	const parameters = sender.getParameters();
	if (parameters.encodings.every((e, i) => e.active === active(i))) return;
	parameters.encodings.forEach((encoding, i) => {
		encoding.active = active(i);
	});
	await sender.setParameters(parameters);
}

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
			if (/removed/.test(detail)) return 'A host removed you from this meeting; you cannot rejoin with this link.';
			return `Your meeting link is not valid (${detail}). Ask for a new invitation link.`;
		case 'room_locked':
			return 'This meeting is locked: a host has closed it to new participants.';
		case 'forbidden':
			return `You are not allowed to join this meeting (${detail}).`;
		case 'rate_limited':
			return 'Too many attempts; wait a moment and try again.';
		default:
			return detail || 'The server refused the connection.';
	}
}
