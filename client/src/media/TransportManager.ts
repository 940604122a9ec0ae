/**
 * The two WebRTC transports of a media session: receive (opened first: it is what the
 * person waits for) and send (opened when there is something to publish), and their
 * recovery: ICE is restarted when a transport fails, or stays disconnected for
 * ICE_DISCONNECTED_RESTART_MS, and retried with back-off while the path stays down, so
 * the call comes back soon after the network does, without a rejoin.
 */
import type { Device, types as msc } from 'mediasoup-client';
import type { TransportOptions } from '../../../signaling/protocol/index.ts';
import { DtlsWatchdog } from './DtlsWatchdog.ts';
import { ICE_DISCONNECTED_RESTART_MS } from './encodings.ts';
import { RoomError, toRoomError } from './errors.ts';
import { deferred, mark, type Deferred, type Epoch } from './marks.ts';
import type { SignalingSession } from './SignalingSession.ts';
import type { ProducerAppData } from './types.ts';
import { wire } from './wire.ts';

export type Direction = 'send' | 'recv';

export class TransportManager {
	readonly #signaling: SignalingSession;
	readonly #epoch: Epoch;
	readonly #notice: (message: string) => void;
	#device: Device | null = null;
	#send: msc.Transport | null = null;
	#sendPromise: Promise<msc.Transport> | null = null;
	/** The send transport's options, asked for ahead (requestSend), not created yet. */
	#sendOptions: { generation: number; options: Promise<TransportOptions> } | null = null;
	#recv: msc.Transport | null = null;
	#recvReady: Deferred<msc.Transport> = deferred();
	/** The receive transport has started its DTLS connect (its first negotiation is under way). */
	#recvConnectStarted = false;
	/** Consumers negotiated in the lobby on the adopted receive transport, not claimed yet (by id). */
	readonly #prepared = new Map<string, msc.Consumer>();
	readonly #iceTimers = new Map<string, ReturnType<typeof setTimeout>>();
	readonly #iceAttempts = new Map<string, number>();
	readonly #dtls: DtlsWatchdog;

	/** `onStuck`: the current send or receive transport's DTLS handshake is stuck (see DtlsWatchdog): replace it. */
	constructor(signaling: SignalingSession, epoch: Epoch, notice: (message: string) => void, onStuck: (direction: Direction) => void) {
		this.#signaling = signaling;
		this.#epoch = epoch;
		this.#notice = notice;
		this.#dtls = new DtlsWatchdog({
			onStuck: (transport) => {
				if (transport !== this.#send && transport !== this.#recv) return;
				const direction: Direction = transport === this.#send ? 'send' : 'recv';
				mark(`dtls-stuck-${direction}`);
				console.warn(`[parley] the ${direction} connection's DTLS handshake has not finished although ICE is up: replacing it`);
				onStuck(direction);
			},
		});
	}

	/** The loaded Device of the current session. */
	get device(): Device | null {
		return this.#device;
	}

	set device(device: Device | null) {
		this.#device = device;
	}

	get send(): msc.Transport | null {
		return this.#send;
	}

	get recv(): msc.Transport | null {
		return this.#recv;
	}

	/** The receive transport, once it exists (rejects when the session is torn down first). */
	recvTransport(): Promise<msc.Transport> {
		return this.#recv ? Promise.resolve(this.#recv) : this.#recvReady.promise;
	}

	get recvConnectStarted(): boolean {
		return this.#recvConnectStarted;
	}

	/** Create the receive transport from the server's answer. */
	openRecv(options: TransportOptions, generation: number): msc.Transport {
		const transport = this.#create('recv', options, generation);
		mark('recv-transport-created');
		this.#recv = transport;
		this.#recvReady.resolve(transport);
		return transport;
	}

	/**
	 * Use the receive transport prepared in the lobby (preparedReceive.ts), which the join
	 * answer took: its ICE and DTLS are usually done already.
	 */
	adoptRecv(transport: msc.Transport, generation: number, consumers: ReadonlyMap<string, msc.Consumer> = new Map()): msc.Transport {
		this.#watch('recv', transport, generation);
		this.#prepared.clear();
		for (const [id, consumer] of consumers) this.#prepared.set(id, consumer);
		mark(`recv-transport-adopted-${transport.connectionState}`);
		this.#recvConnectStarted = true;
		this.#recv = transport;
		this.#recvReady.resolve(transport);
		this.#dtls.stateChanged(transport, transport.connectionState);
		return transport;
	}

	/** The consumer with this id negotiated in the lobby on `transport` (the current receive one), now the caller's; null if none. */
	takePrepared(consumerId: string, transport: msc.Transport): msc.Consumer | null {
		const consumer = this.#prepared.get(consumerId);
		if (!consumer) return null;
		this.#prepared.delete(consumerId);
		return transport === this.#recv && !consumer.closed ? consumer : null;
	}

	/** Close the lobby's consumers the join did not name (their producers went meanwhile). */
	dropPreparedExcept(named: ReadonlySet<string>): void {
		for (const [id, consumer] of this.#prepared) {
			if (named.has(id)) continue;
			this.#prepared.delete(id);
			consumer.close();
		}
	}

	/**
	 * Close the receive transport on both ends (its consumers close with it) and open a fresh
	 * one: after a failed negotiation the old one cannot negotiate again.
	 */
	async replaceRecv(generation: number): Promise<void> {
		const old = this.#recv;
		this.#recv = null;
		this.#prepared.clear();
		this.#recvReady.reject(new RoomError('closed', 'Receive transport replaced.'));
		this.#recvReady = deferred();
		this.#recvConnectStarted = false;
		if (old) {
			this.#clearIceTimer(old.id);
			old.close();
			this.#signaling.request('media:closeTransport', { transportId: old.id }).catch((error: unknown) => {
				if (this.#epoch.isCurrent(generation)) console.warn('[parley] closing the old receive transport failed', error);
			});
		}
		const options = await this.#signaling.request('media:createTransport', { direction: 'recv' });
		if (this.#epoch.isCurrent(generation)) this.openRecv(options, generation);
	}

	/** Use a send transport the server already made (a moved media session): no request. */
	adoptSend(options: TransportOptions, generation: number): void {
		if (this.#sendPromise) return;
		const transport = this.#create('send', options, generation);
		this.#send = transport;
		this.#sendPromise = Promise.resolve(transport);
	}

	/**
	 * Ask the server for the send transport without creating it here yet: creating an
	 * RTCPeerConnection blocks the page for 20-170 ms (measured in e2e/join-timing.spec.ts on a
	 * loaded machine), which must not fall between the join answer and the receive side's
	 * first negotiation. ensureSend() creates it from this answer.
	 */
	requestSend(): void {
		if (this.#sendPromise || this.#sendOptions) return;
		const generation = this.#epoch.value;
		const options = this.#signaling.request('media:createTransport', { direction: 'send' });
		const entry = { generation, options };
		this.#sendOptions = entry;
		options.catch(() => {
			if (this.#sendOptions === entry) this.#sendOptions = null;
		});
	}

	/** The send transport, requested once per session (or taken from requestSend's answer). */
	ensureSend(): Promise<msc.Transport> {
		if (!this.#sendPromise) {
			const requested = this.#sendOptions?.generation === this.#epoch.value ? this.#sendOptions.options : null;
			this.#sendOptions = null;
			const generation = this.#epoch.value;
			const promise = (requested ?? this.#signaling.request('media:createTransport', { direction: 'send' })).then((options) => {
				if (!this.#epoch.isCurrent(generation)) throw new RoomError('closed', 'Session restarted.');
				const transport = this.#create('send', options, generation);
				this.#send = transport;
				return transport;
			});
			this.#sendPromise = promise;
			promise.catch(() => {
				if (this.#sendPromise === promise) this.#sendPromise = null;
			});
		}
		return this.#sendPromise;
	}

	#create(direction: Direction, options: TransportOptions, generation: number): msc.Transport {
		const params = {
			...wire.transportOptions(options),
			// TURN servers with a credential minted for us (none when the server has no TURN).
			iceServers: options.iceServers,
			// No ICE candidate pool (iceCandidatePoolSize): when the first offer/answer was applied
			// while the pool was still gathering (the join answer brings the receive transport and
			// its consumers together), Chromium now and then never finished gathering, and the
			// connection stayed 'new' with no ICE check ever sent: a black tile for good.
		};
		const device = this.#device;
		if (!device) throw new RoomError('closed', 'No device loaded.');
		const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
		transport.on('connect', ({ dtlsParameters }, callback) => {
			if (direction === 'recv') this.#recvConnectStarted = true;
			// Go on without waiting for the answer: the request is on its way before any ICE or
			// DTLS packet, so the server has the DTLS parameters by the time they arrive, and ICE
			// starts one round trip earlier. A failure shows up as a failed transport.
			this.#signaling.request('media:connectTransport', { transportId: transport.id, dtlsParameters }).catch((error: unknown) => {
				if (!this.#epoch.isCurrent(generation) || transport.closed) return;
				console.warn(`[parley] ${direction} transport connect failed`, error);
				this.#notice(`Could not connect the ${direction === 'send' ? 'sending' : 'receiving'} media path: ${toRoomError(error).message}`);
			});
			callback();
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				const data = appData as Partial<ProducerAppData>;
				this.#signaling
					.request('media:produce', {
						transportId: transport.id,
						kind,
						rtpParameters,
						source: data.source ?? (kind === 'audio' ? 'microphone' : 'camera'),
						...(data.paused ? { paused: true } : {}),
						...(data.dimensions ? { dimensions: data.dimensions } : {}),
						...(data.maxSpatialLayer !== undefined ? { maxSpatialLayer: data.maxSpatialLayer } : {}),
					})
					.then(({ producerId }) => {
						mark(`produced-${kind}`);
						callback({ id: producerId });
					}, errback);
			});
		}
		this.#watch(direction, transport, generation);
		return transport;
	}

	/** Recovery (ICE restarts, the DTLS watchdog) follows the transport's connection state. */
	#watch(direction: Direction, transport: msc.Transport, generation: number): void {
		transport.on('connectionstatechange', (state) => {
			mark(`${direction}-transport-${state}`);
			if (!this.#epoch.isCurrent(generation) || transport.closed) return;
			this.#dtls.stateChanged(transport, state);
			if (state === 'connected') this.#iceAttempts.delete(transport.id);
			if (state === 'failed') {
				this.#clearIceTimer(transport.id);
				void this.#restartIce(transport, generation);
			} else if (state === 'disconnected') {
				// Often recovers by itself within a couple of seconds; restart ICE if it does not.
				this.#scheduleIceRestart(transport, generation, ICE_DISCONNECTED_RESTART_MS);
			} else if (state === 'connected' || state === 'closed') {
				this.#clearIceTimer(transport.id);
			}
		});
	}

	#clearIceTimer(transportId: string): void {
		const pending = this.#iceTimers.get(transportId);
		if (pending) clearTimeout(pending);
		this.#iceTimers.delete(transportId);
	}

	#scheduleIceRestart(transport: msc.Transport, generation: number, delayMs: number): void {
		this.#clearIceTimer(transport.id);
		this.#iceTimers.set(
			transport.id,
			setTimeout(() => {
				this.#iceTimers.delete(transport.id);
				if (!this.#epoch.isCurrent(generation) || transport.closed) return;
				if (transport.connectionState !== 'connected') void this.#restartIce(transport, generation);
			}, delayMs),
		);
	}

	/** New ICE credentials from the server, then an ICE restart here; retried (backing off to 8 s) while the path stays down. */
	async #restartIce(transport: msc.Transport, generation: number): Promise<void> {
		const attempt = (this.#iceAttempts.get(transport.id) ?? 0) + 1;
		this.#iceAttempts.set(transport.id, attempt);
		mark(`ice-restart-${transport.direction}`);
		try {
			const { iceParameters, iceServers } = await this.#signaling.request('media:restartIce', { transportId: transport.id });
			if (!this.#epoch.isCurrent(generation) || transport.closed) return;
			// Fresh TURN credentials first: the old ones may have expired during a long call.
			if (iceServers.length > 0) await transport.updateIceServers({ iceServers });
			await transport.restartIce({ iceParameters });
		} catch (error) {
			if (this.#epoch.isCurrent(generation)) console.warn('[parley] ICE restart failed', error);
		}
		if (!this.#epoch.isCurrent(generation) || transport.closed) return;
		if (transport.connectionState !== 'connected') {
			this.#scheduleIceRestart(transport, generation, Math.min(8000, 2000 * attempt));
		}
	}

	/** Raw WebRTC stats of both transports (for the stats panel). */
	async stats(): Promise<{ send: RTCStatsReport | null; recv: RTCStatsReport | null }> {
		const read = (t: msc.Transport | null): Promise<RTCStatsReport | null> =>
			t && !t.closed ? t.getStats().catch(() => null) : Promise.resolve(null);
		const [send, recv] = await Promise.all([read(this.#send), read(this.#recv)]);
		return { send, recv };
	}

	/** Close both transports (their producers and consumers close with them); the Device stays loaded. */
	reset(): void {
		this.detach()();
	}

	/**
	 * Take both transports out of the session without closing them yet, and return what closes
	 * them (their producers and consumers close with them). A moved session starts its new
	 * transports first: closing a connection blocks the page for a while.
	 */
	detach(): () => void {
		this.#dtls.reset();
		for (const timer of this.#iceTimers.values()) clearTimeout(timer);
		this.#iceTimers.clear();
		this.#iceAttempts.clear();
		const old = [this.#send, this.#recv];
		this.#send = this.#recv = null;
		this.#prepared.clear();
		this.#sendPromise = null;
		this.#sendOptions = null;
		this.#recvReady.reject(new RoomError('closed', 'Session closed.'));
		this.#recvReady = deferred();
		this.#recvConnectStarted = false;
		return () => {
			for (const transport of old) transport?.close();
		};
	}
}
