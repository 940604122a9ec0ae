/**
 * One person's presence in one room: a façade over small parts with one job each —
 * the signaling session (socket, reconnection, requests), the transports (and ICE
 * restarts), one Publisher per local source, the remote media (consumers, layers,
 * viewports), dynacast, receiver tuning, the media session's steps and the React store.
 *
 * Lifecycle: new → join() → (joined ⇄ reconnecting) → closed. Every (re)connect starts a
 * media session (MediaSession: join, receive, publish; a new generation); close() is
 * idempotent and releases everything (socket, transports, local tracks).
 */
import type { PeerQuality, PreparedMedia } from '../../../signaling/protocol/index.ts';
import type { ChatSocket } from '../chat/ChatClient.ts';
import { load } from '../lib/storage.ts';
import { parseBackgroundMode, type BackgroundMode } from './background/background.ts';
import type { ProcessorStats } from './background/BackgroundProcessor.ts';
import { CameraBackground } from './background/CameraBackground.ts';
import { Dynacast } from './Dynacast.ts';
import { tuning } from './tuning.ts';
import { RoomError, toRoomError } from './errors.ts';
import { deferred, Epoch, mark } from './marks.ts';
import { preparedStraightIn, takePreparedReceive } from './preparedReceive.ts';
import { MediaSession } from './MediaSession.ts';
import { LocalSources } from './LocalSources.ts';
import type { PublisherContext } from './publisherTypes.ts';
import { MediaStats } from './MediaStats.ts';
import { RemoteMedia } from './RemoteMedia.ts';
import { RoomStore } from './RoomStore.ts';
import { SignalingSession } from './SignalingSession.ts';
import { TransportManager } from './TransportManager.ts';
import type {
	ConsumerDescription,
	ProducerDescription,
	RoomClientError,
	RoomClientOptions,
	RoomSnapshot,
	RoomStatus,
	TileViewport,
} from './types.ts';

export type * from './types.ts';
export { RoomError, toRoomError } from './errors.ts';
export { preloadDevice } from './device.ts';
export { prepareReceive } from './preparedReceive.ts';

/** What chat, receipts and presence need of the call: its connection, token and identity. */
export interface ChatSession {
	socket: ChatSocket;
	token: string;
	/** The token's subject: this participant's identity in messages, receipts and presence. */
	identity: string;
	room: string;
}

export class RoomClient {
	readonly room: string;
	readonly name: string;
	readonly #signaling: SignalingSession;
	readonly #epoch = new Epoch();
	readonly #store: RoomStore<RoomSnapshot>;
	readonly #transports: TransportManager;
	readonly #remote: RemoteMedia;
	readonly #dynacast = new Dynacast();
	readonly #stats: MediaStats;
	readonly #local: LocalSources;
	readonly #background: CameraBackground;
	readonly #receiveReady = deferred<void>();
	readonly #session: MediaSession;
	#status: RoomStatus = 'connecting';
	/** What a `reconnecting` status is restoring. */
	#reconnecting: RoomSnapshot['reconnecting'] = null;
	#closed = false;
	#error: RoomClientError | null = null;
	#self: { id: string; name: string } | null = null;
	#joinPromise: Promise<void> | null = null;
	#videoCodec: 'vp8' | 'vp9' | null = null;
	#activeSpeaker: string | null = null;
	#quality = new Map<string, PeerQuality>();

	constructor(options: RoomClientOptions) {
		this.room = options.room;
		this.name = options.name;
		this.#signaling = new SignalingSession(options);
		const notice = (message: string): void => this.#notice(message);
		// A stuck DTLS handshake (a very lossy link): a fresh receive transport, or (sending) the
		// media session starts over, as after a move.
		this.#transports = new TransportManager(this.#signaling, this.#epoch, notice, (direction) =>
			direction === 'recv' ? this.#remote.restartReceive() : this.#restartMedia(undefined),
		);
		this.#remote = new RemoteMedia({
			request: (name, payload) => this.#signaling.request(name, payload),
			transports: this.#transports,
			epoch: this.#epoch,
			selfId: () => this.#self?.id ?? null,
			active: () => !this.#closed && this.#session.up,
			closed: () => this.#closed,
			changed: () => this.#changed(),
			notice,
		});
		const ctx: PublisherContext = {
			signaling: this.#signaling,
			transports: this.#transports,
			epoch: this.#epoch,
			joined: () => this.#session.up,
			closed: () => this.#closed,
			changed: () => this.#changed(),
			notice,
			produced: (producer) => this.#dynacast.apply(producer),
			startLayer: (source) => this.#dynacast.startLayer(source),
		};
		this.#local = new LocalSources(options, ctx, () => this.#videoCodec, () => this.#changed());
		this.#stats = new MediaStats({
			epoch: this.#epoch,
			transports: this.#transports,
			remote: this.#remote,
			dynacast: this.#dynacast,
			producers: () => this.#local.producers(),
			rttOf: (peerId) => this.#quality.get(peerId)?.rttMs ?? null,
		});
		this.#session = new MediaSession({
			signaling: this.#signaling,
			transports: this.#transports,
			remote: this.#remote,
			dynacast: this.#dynacast,
			stats: this.#stats,
			epoch: this.#epoch,
			publishers: this.#local.publishers,
			admission: options.admission,
			takePreparedReceive: () => takePreparedReceive(this.#signaling.token),
			preparedStraightIn: () => preparedStraightIn(this.#signaling.token),
			notice,
			joined: ({ self, videoCodec, activeSpeaker }) => {
				this.#self = { id: self.id, name: self.name };
				this.#videoCodec = videoCodec;
				this.#activeSpeaker = activeSpeaker;
			},
			up: (restore) => {
				if (!restore) this.#status = 'joined';
				this.#changed();
			},
			restored: () => {
				this.#status = 'joined';
				this.#reconnecting = null;
				this.#changed();
			},
			receiveReady: () => {
				mark('receive-ready');
				this.#receiveReady.resolve();
			},
		});
		this.#store = new RoomStore(() => this.#snapshot());
		this.#background = new CameraBackground(this.#local.camera, parseBackgroundMode(load('background')), { notice, changed: () => this.#changed() });
	}

	// ---- React binding -------------------------------------------------------------

	get subscribe(): RoomStore<RoomSnapshot>['subscribe'] {
		return this.#store.subscribe;
	}

	get getSnapshot(): RoomStore<RoomSnapshot>['getSnapshot'] {
		return this.#store.getSnapshot;
	}

	#changed(): void {
		this.#store.changed();
	}

	#snapshot(): RoomSnapshot {
		return {
			status: this.#status,
			room: this.room,
			self: this.#self,
			participants: this.#remote?.participants(this.#quality) ?? [],
			local: this.#local.snapshot(this.#background?.mode ?? 'none'),
			devices: this.#local?.devices.lists ?? { cameras: [], microphones: [], speakers: [] },
			error: this.#error,
			notice: this.#store?.notice ?? null,
			activeSpeaker: this.#activeSpeaker,
			selfQuality: this.#self ? (this.#quality.get(this.#self.id) ?? null) : null,
			videoCodec: this.#videoCodec,
			reconnecting: this.#status === 'reconnecting' ? this.#reconnecting : null,
		};
	}

	/** The call's connection, token and identity, for chat and presence (same socket). */
	get chatSession(): ChatSession {
		const { socket, token, identity } = this.#signaling;
		return { socket, token, identity, room: this.room };
	}

	get isClosed(): boolean {
		return this.#closed;
	}

	/**
	 * Settles once the first session's receive side is set up (the consumers of everyone here
	 * negotiated), or the session ended: the call page waits for it rather than being rendered
	 * in the middle of it (see App).
	 */
	get receiveReady(): Promise<void> {
		return this.#receiveReady.promise;
	}

	// ---- Session -------------------------------------------------------------------

	/** Connect and enter the room. Resolves once joined; rejects (and closes) on failure. */
	join(): Promise<void> {
		if (this.#closed) return Promise.reject(new RoomError('closed', 'This session is closed.'));
		if (this.#joinPromise) return this.#joinPromise;
		const joined = deferred<void>();
		this.#joinPromise = joined.promise;
		this.#local.devices.start();
		const s = this.#signaling;
		s.on('peer:joined', (peer) => this.#remote.peerJoined(peer));
		s.on('peer:left', ({ peerId }) => this.#remote.peerLeft(peerId));
		s.on('producer:new', ({ consumer, ...producer }) => this.#remote.producerNew(producer, consumer));
		s.on('producer:closed', ({ producerId, peerId }) => this.#remote.producerClosed(peerId, producerId));
		s.on('producer:paused', ({ producerId, peerId }) => this.#remote.producerPaused(peerId, producerId, true));
		s.on('producer:resumed', ({ producerId, peerId }) => this.#remote.producerPaused(peerId, producerId, false));
		s.on('consumer:closed', ({ consumerId }) => this.#remote.consumerClosed(consumerId));
		s.on('consumer:layers', ({ consumerId, spatialLayer, temporalLayer }) =>
			this.#remote.consumerLayers(consumerId, { spatialLayer, temporalLayer }),
		);
		s.on('producer:layers', ({ producerId, maxSpatialLayer }) =>
			this.#dynacast.want(producerId, maxSpatialLayer, this.#local.videoProducers().find((p) => p.id === producerId)),
		);
		s.on('speaker:active', ({ peerId }) => {
			if (peerId === this.#activeSpeaker) return;
			this.#activeSpeaker = peerId;
			this.#changed();
		});
		s.on('quality:update', ({ peers }) => {
			this.#quality = new Map(peers.map((q) => [q.peerId, q]));
			this.#changed();
		});
		s.start({
			connected: (first) => {
				this.#session.start().then(
					() => {
						if (first) joined.resolve();
					},
					(error: unknown) => {
						const err = toRoomError(error);
						if (first) joined.reject(err);
						this.#fail(err);
					},
				);
			},
			reconnecting: () => {
				this.#teardownSession();
				this.#status = 'reconnecting';
				this.#reconnecting = 'connection';
				this.#changed();
			},
			restartMedia: (prepared) => this.#restartMedia(prepared),
			failed: (error, initial) => {
				if (initial) joined.reject(error);
				this.#fail(error);
			},
		});
		return joined.promise;
	}

	/**
	 * Same connection, new media session (moved to another worker: `prepared` is what the
	 * server set up there; or a stuck handshake here): room:join again keeps the participant.
	 * The status says reconnecting until audio and video are back, not only the join. The new
	 * session's first steps go out before the old connections close and before the page
	 * renders "reconnecting" (each blocks a busy page for 0.1-0.4 s).
	 */
	#restartMedia(prepared: PreparedMedia | undefined): void {
		if (this.#closed) return;
		const release = this.#store.hold();
		const closeOld = this.#teardownSession(true);
		// Every page of the room is starting new encoders and decoders now: the camera
		// republishes its lowest layer only, for a while.
		this.#dynacast.holdLowest(tuning().movedLowLayerMs, () => this.#local.videoProducers());
		mark('media-torn-down');
		this.#status = 'reconnecting';
		this.#reconnecting = 'media';
		this.#changed();
		mark('media-restart');
		this.#session.start(true, prepared).catch((error: unknown) => this.#fail(toRoomError(error)));
		setTimeout(() => {
			closeOld();
			release();
		}, 0);
	}

	/** Forget everything tied to the server-side session (for a reconnect or close): its speaker and qualities too; local tracks stay. */
	#teardownSession(deferClose = false): () => void {
		this.#quality.clear();
		this.#activeSpeaker = null;
		return this.#session.teardown(deferClose);
	}

	/** Leave the room politely, then close. Safe to call more than once. */
	async leave(): Promise<void> {
		if (this.#closed) return;
		if (this.#signaling.connected) {
			try {
				await this.#signaling.request('room:leave', {}, 2000);
			} catch {
				// Closing the socket tells the server as well.
			}
		}
		this.close();
	}

	/** Release everything. Idempotent. */
	close(error: RoomClientError | null = null): void {
		if (this.#closed) return;
		this.#closed = true;
		if (error) this.#error = error;
		this.#receiveReady.resolve();
		this.#teardownSession();
		this.#signaling.close();
		this.#local.devices.close();
		this.#background.close();
		for (const p of this.#local.publishers) p.close();
		this.#store.close();
		this.#status = 'closed';
		this.#changed();
	}

	#fail(error: RoomError): void {
		this.close({ code: error.code, message: error.message });
	}

	#notice(message: string): void {
		if (!this.#closed) this.#store.showNotice(message);
	}

	dismissNotice(): void {
		this.#store.dismissNotice();
	}

	/** The call page shows the notice: it goes after a while from now. */
	noticeShown(): void {
		this.#store.noticeShown();
	}

	// ---- Local media ---------------------------------------------------------------

	/** Mute/unmute: the producer stays, paused on both ends (others see the muted icon). */
	setMicEnabled(on: boolean): Promise<void> {
		return this.#local.mic.setEnabled(on);
	}

	/** Camera off closes the producer and releases the camera; on captures and publishes again. */
	setCameraEnabled(on: boolean): Promise<void> {
		return this.#local.camera.setEnabled(on);
	}

	/**
	 * Use another microphone or camera (remembered for the next visit). Swapped into the
	 * producer without renegotiating: the others keep receiving on the same consumer.
	 */
	selectDevice(kind: 'microphone' | 'camera', deviceId: string): Promise<void> {
		return this.#local.selectDevice(kind, deviceId);
	}

	/** Background blur, a picture or none (remembered): the camera's track is swapped, nothing renegotiated. */
	setBackground(mode: BackgroundMode): Promise<void> {
		return this.#background.set(mode);
	}

	/** The background effect's frames per second and cost (null without one). */
	backgroundStats(): ProcessorStats | null {
		return this.#background.stats();
	}

	/** Share a screen, window or tab (the browser asks which), or stop sharing (also via the browser's own button). */
	setScreenShareEnabled(on: boolean): Promise<void> {
		return this.#local.screen.setEnabled(on);
	}

	// ---- Remote media --------------------------------------------------------------

	/** A tile's rendered size and visibility for a remote video (batched to the SFU). */
	readonly reportViewport = (consumerId: string, viewport: TileViewport): void => {
		if (!this.#closed) this.#remote.reportViewport(consumerId, viewport);
	};

	// ---- Stats -------------------------------------------------------------------

	/** Raw WebRTC stats of both transports (for the stats panel). */
	getTransportStats(): Promise<{ send: RTCStatsReport | null; recv: RTCStatsReport | null }> {
		return this.#transports.stats();
	}

	describeConsumers(): ConsumerDescription[] {
		return this.#stats.describeConsumers();
	}

	describeProducers(): ProducerDescription[] {
		return this.#stats.describeProducers();
	}
}
