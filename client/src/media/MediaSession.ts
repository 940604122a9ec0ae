/**
 * The media session: started on every (re)connect (a new generation), torn down on a drop,
 * a media restart or close. Starting it: wait for admission (waiting room), join with the
 * device, receive, publish. Receiving comes first: it is what the person waits for. The join
 * answer brought the receive transport and the consumers of everyone here (one negotiation,
 * no more round trips); producing (encoder start-up is CPU-heavy) waits until those are set
 * up and connected and the SFU forwards their video, or SEND_AFTER_RECEIVE_MAX_MS at most.
 *
 * A restore (the server moved this media to another worker): everyone is waiting, so
 * publishing starts at once, and the session says it is restored once the media is back.
 */
import type { PreparedMedia, ResponseData, TransportOptions } from '../../../signaling/protocol/index.ts';
import type { Dynacast } from './Dynacast.ts';
import { RoomError, toRoomError } from './errors.ts';
import { joinWithDevice } from './joinWithDevice.ts';
import { mark, type Epoch } from './marks.ts';
import type { MediaStats } from './MediaStats.ts';
import type { PreparedReceive } from './preparedReceive.ts';
import type { Publisher } from './Publisher.ts';
import type { RemoteMedia } from './RemoteMedia.ts';
import type { SignalingSession } from './SignalingSession.ts';
import type { TransportManager } from './TransportManager.ts';

/**
 * Producing waits for the others' video at most this long (from the receive transport's
 * creation): producing's negotiation blocks the page 60-250 ms and the encoders' start-up takes
 * CPU from the first remote frame (CPU profiles of e2e/join-timing.spec.ts).
 */
const SEND_AFTER_RECEIVE_MAX_MS = 400;

type RecvTransport = NonNullable<TransportManager['recv']>;

export interface MediaSessionContext {
	signaling: SignalingSession;
	transports: TransportManager;
	remote: RemoteMedia;
	dynacast: Dynacast;
	stats: MediaStats;
	epoch: Epoch;
	/** Microphone, camera, screen. */
	publishers: readonly Publisher[];
	/** The receive connection prepared in the lobby for this session's token, if any is usable (preparedReceive.ts). */
	takePreparedReceive(): Promise<PreparedReceive | null>;
	/** The lobby's preparation said this person goes straight in (preparedReceive.ts): the first join need not wait for admission. */
	preparedStraightIn(): boolean;
	/** Waiting room: resolves once a host lets this connection in. */
	admission: (() => Promise<void>) | undefined;
	notice(message: string): void;
	/** The join answer arrived (who this participant is, the codec, the active speaker). */
	joined(answer: ResponseData<'room:join'>): void;
	/** The session is up (media requests make sense); the receive side is being set up. */
	up(restore: boolean): void;
	/** After a restore: audio and video flow again and this participant publishes again. */
	restored(): void;
	/** The receive side is set up (the consumers of everyone here negotiated), or there is none to wait for. */
	receiveReady(): void;
}

export class MediaSession {
	readonly #ctx: MediaSessionContext;
	#up = false;

	constructor(ctx: MediaSessionContext) {
		this.#ctx = ctx;
	}

	/** The server-side session is up (joined): media requests make sense, even while the status still says reconnecting. */
	get up(): boolean {
		return this.#up;
	}

	/**
	 * A media session: join, receive, publish (see the file's comment). `prepared`: the server
	 * moved this media and set up the new session already (the join answer and the send
	 * transport): used at once with the Device already loaded, no join round trip.
	 */
	async start(restore = false, prepared?: PreparedMedia): Promise<void> {
		const { epoch, transports, remote } = this.#ctx;
		const generation = epoch.bump();
		// Waiting room: the media join waits until a host lets this connection in (a moved session
		// is on a connection that is in already). Not when the lobby's preparation said a moment ago
		// that this person goes straight in: the join goes out with the connection, and waits only
		// if the meeting changed meanwhile (refused with not_admitted).
		const admission = prepared ? undefined : this.#ctx.admission;
		const straightIn = !!admission && this.#ctx.preparedStraightIn();
		if (admission && !straightIn) {
			await admission();
			if (!epoch.isCurrent(generation)) return;
		}
		const loaded = prepared ? transports.device : null;
		// The receive connection prepared in the lobby (a first join; none for a moved session).
		const lobby = prepared ? null : await this.#ctx.takePreparedReceive();
		if (!epoch.isCurrent(generation)) {
			lobby?.transport.close();
			return;
		}
		let joined;
		try {
			if (loaded && prepared) joined = { device: loaded, joinAnswer: prepared };
			else {
				joined = await joinWithDevice(this.#ctx.signaling, lobby).catch(async (error: unknown) => {
					if (!(straightIn && error instanceof RoomError && error.code === 'not_admitted')) throw error;
					// The meeting put this connection in its waiting room after all: join once let in.
					await admission();
					return epoch.isCurrent(generation) ? joinWithDevice(this.#ctx.signaling, lobby) : null;
				});
				if (!joined) {
					lobby?.transport.close();
					return;
				}
			}
		} catch (error) {
			lobby?.transport.close();
			throw error;
		}
		const { device, joinAnswer } = joined;
		// Not taken (the server made another one, or the Device changed): closed, unused.
		const adopt = lobby && joinAnswer.receive?.transport.id === lobby.transport.id && lobby.device === device ? lobby.transport : null;
		if (lobby && !adopt) lobby.transport.close();
		if (!epoch.isCurrent(generation)) {
			adopt?.close();
			return;
		}
		transports.device = device;
		mark(loaded ? 'joined-prepared' : 'joined');
		this.#ctx.joined(joinAnswer);
		this.#ctx.stats.start(generation);
		const publishers = this.#ctx.publishers.filter((p) => p.wantsToSend());
		// A restore: the others see nothing of this participant until it publishes again, so its
		// first negotiation goes out before anything else here. Video first: its first frame at
		// the others waits for an encoder start and a keyframe, audio's first packet for neither
		// (mediasoup-client negotiates producers one by one).
		let publishing: Promise<void> = Promise.resolve();
		if (restore) {
			if (loaded && prepared?.send) transports.adoptSend(prepared.send, generation);
			const videoFirst = [...publishers].sort((a, b) => Number(a.source === 'microphone') - Number(b.source === 'microphone'));
			if (videoFirst.length) publishing = this.#publish(videoFirst, generation);
		}
		// Receive first: it is what the person waits for. The join answer brought the receive
		// transport and the consumers of everyone here (one negotiation, no more round trips).
		const { receive } = joinAnswer;
		if (receive) remote.prefetch(receive.consumers);
		const opened = adopt && lobby ? transports.adoptRecv(adopt, generation, lobby.consumers) : receive ? transports.openRecv(receive.transport, generation) : null;
		if (adopt) transports.dropPreparedExcept(new Set(receive?.consumers.map((c) => c.id)));
		for (const peer of joinAnswer.peers) remote.peerJoined(peer);
		remote.dropUnknownPrefetched();
		if (opened) {
			void remote.settled().then(() => {
				if (epoch.isCurrent(generation)) this.#ctx.receiveReady();
			});
		} else this.#ctx.receiveReady();
		this.#up = true;
		this.#ctx.up(restore);

		// The send transport is requested alongside, but producing (encoder start-up is CPU-heavy)
		// waits until the consumers of the people already here are set up, or a short while at most.
		const recv = opened ? null : this.#ctx.signaling.request('media:createTransport', { direction: 'recv' });
		// Asked for now, created when producing starts (see TransportManager.requestSend).
		if (publishers.length) transports.requestSend();
		if (restore) {
			const transport = opened ?? (await this.#openRecv(recv, generation));
			if (!transport) return;
			await Promise.all([this.#receiving(transport), publishing]);
			if (!epoch.isCurrent(generation)) return;
			mark('media-restored');
			this.#ctx.restored();
			return;
		}
		const transport = opened ?? (await this.#openRecv(recv, generation));
		if (!transport || !publishers.length) return;
		await Promise.race([this.#receiving(transport, true), new Promise((resolve) => setTimeout(resolve, SEND_AFTER_RECEIVE_MAX_MS))]);
		if (!epoch.isCurrent(generation)) return;
		mark('publish-start');
		await this.#publish(publishers, generation);
	}

	/**
	 * Forget everything tied to the server-side session (for a reconnect or close); local tracks
	 * stay. The transports close with it, or (`deferClose`: a moved session, whose new
	 * transports start first) when the returned function is called.
	 */
	teardown(deferClose = false): () => void {
		this.#ctx.epoch.bump();
		this.#up = false;
		// Closing a transport closes its producers and consumers with it. Closed one by one first,
		// each would be an SDP renegotiation of a connection about to go anyway (0.1-0.4 s of a
		// busy page's time before a moved session could start): they are only forgotten here.
		const close = this.#ctx.transports.detach();
		for (const p of this.#ctx.publishers) p.reset(true);
		this.#ctx.dynacast.reset();
		this.#ctx.stats.stop();
		this.#ctx.remote.reset(true);
		const closeTransports = (): void => {
			mark('media-transports-closing');
			close();
			mark('media-transports-closed');
		};
		if (deferClose) return closeTransports;
		closeTransports();
		return () => undefined;
	}

	/** The receive transport from the createTransport answer (null if the session moved on meanwhile). */
	async #openRecv(recv: Promise<TransportOptions> | null, generation: number): Promise<RecvTransport | null> {
		const options = recv ? await recv : null;
		return options && this.#ctx.epoch.isCurrent(generation) ? this.#ctx.transports.openRecv(options, generation) : null;
	}

	/**
	 * Settles once the consumers of what is already published are set up and connected, and
	 * (`waitVideo`) the SFU forwards video on one of them (or there is nothing to wait for).
	 */
	#receiving(transport: RecvTransport, waitVideo = false): Promise<void> {
		const { remote } = this.#ctx;
		return remote
			.settled()
			.then(() =>
				remote.consumerCount === 0 || transport.connectionState === 'connected'
					? undefined
					: new Promise<void>((resolve) => {
							const done = (state: string): void => {
								if (state === 'connecting' || state === 'new') return;
								transport.off('connectionstatechange', done);
								resolve();
							};
							transport.on('connectionstatechange', done);
						}),
			)
			.then(() => (waitVideo ? remote.videoForwarded() : undefined));
	}

	/** The send transport, then every publisher that has something to send. */
	async #publish(publishers: readonly Publisher[], generation: number): Promise<void> {
		try {
			await this.#ctx.transports.ensureSend();
		} catch (error) {
			if (this.#ctx.epoch.isCurrent(generation)) this.#ctx.notice(`Could not start sending media: ${toRoomError(error).message}`);
			return;
		}
		if (!this.#ctx.epoch.isCurrent(generation)) return;
		await Promise.all(publishers.map((p) => p.publish(generation)));
	}
}

