/**
 * The media link between a room's router on this node and the same room's router on another
 * node (cascading): one mediasoup PipeTransport on each side (UDP, SRTP and RTX/NACK on),
 * connected to each other's address. A producer of this router goes to the other node with
 * `send()` (a pipe consumer here; the returned parameters are what the other side's
 * `receive()` produces with, under the same producer id), so only the producers the other
 * node's participants consume cross the link, each once whatever the number of consumers there.
 *
 * What the two sides exchange (the endpoint: ip, port, SRTP parameters; and per producer its
 * id, kind, RTP parameters and paused state) is carried by the caller (signaling/cluster,
 * over Redis): this class knows nothing of sockets or Redis.
 *
 * close() is idempotent and cascades: the transport, its pipe consumers and pipe producers.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';

/** One side of the link: where its PipeTransport listens and the key its SRTP sends with. */
export interface PipeEndpoint {
	ip: string;
	port: number;
	srtpParameters?: types.SrtpParameters;
}

/** A producer as the other node's pipe transport must produce it. */
export interface PipedProducer {
	producerId: string;
	kind: types.MediaKind;
	rtpParameters: types.RtpParameters;
	paused: boolean;
	appData: Record<string, unknown>;
}

export interface NodePipeOptions {
	router: types.Router;
	/** The id of the node at the other end (logs). */
	remoteNode: string;
	/** Address the pipe transport listens on, and the one the other node sends to (default: the same). */
	listenIp: string;
	announcedAddress?: string;
	/** UDP ports to pick from (default: the worker's range). */
	portRange?: { min: number; max: number };
	/** SRTP on the link (default true). */
	srtp?: boolean;
	log: Logger;
}

export type NodePipeEvents = {
	close: [];
	/** A producer sent over the link closed here: the other node must close its copy. */
	sentclose: [producerId: string];
	/** A producer sent over the link was paused or resumed here: the other node's copy follows. */
	sentpause: [producerId: string, paused: boolean];
};

export class NodePipe extends EventEmitter<NodePipeEvents> {
	readonly remoteNode: string;
	readonly #transport: types.PipeTransport;
	readonly #log: Logger;
	/** Pipe consumers here (producers of this router sent to the other node), by producer id. */
	readonly #sending = new Map<string, Promise<types.Consumer>>();
	/** Pipe producers here (producers of the other node), by producer id. */
	readonly #receiving = new Map<string, Promise<types.Producer>>();
	#connected = false;
	#closed = false;

	private constructor(transport: types.PipeTransport, options: NodePipeOptions) {
		super();
		this.remoteNode = options.remoteNode;
		this.#transport = transport;
		this.#log = options.log.child({ remoteNode: options.remoteNode, transportId: transport.id });
		transport.observer.once('close', () => this.close());
	}

	static async create(options: NodePipeOptions): Promise<NodePipe> {
		const srtp = options.srtp ?? true;
		const transport = await options.router.createPipeTransport({
			listenInfo: {
				protocol: 'udp',
				ip: options.listenIp,
				...(options.announcedAddress ? { announcedAddress: options.announcedAddress } : {}),
				...(options.portRange ? { portRange: options.portRange } : {}),
			},
			enableSrtp: srtp,
			enableRtx: true,
		});
		return new NodePipe(transport, options);
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** This side's endpoint, for the other node's connect(). */
	get local(): PipeEndpoint {
		const tuple = this.#transport.tuple;
		return {
			// localAddress: the announced address when there is one, else the listening IP.
			ip: tuple.localAddress,
			port: tuple.localPort,
			...(this.#transport.srtpParameters ? { srtpParameters: this.#transport.srtpParameters } : {}),
		};
	}

	/** Producers of the other node received here. */
	get received(): number {
		return this.#receiving.size;
	}

	/** Producers of this node sent there. */
	get sent(): number {
		return this.#sending.size;
	}

	async connect(remote: PipeEndpoint): Promise<void> {
		if (this.#closed) throw new Error('the pipe is closed');
		if (this.#connected) return;
		this.#connected = true;
		await this.#transport.connect({ ip: remote.ip, port: remote.port, ...(remote.srtpParameters ? { srtpParameters: remote.srtpParameters } : {}) });
		this.#log.info({ remote: `${remote.ip}:${remote.port}` }, 'cascade: pipe to the other node connected');
	}

	/**
	 * Send a producer of this router over the link (once, however often asked). `appData`
	 * (who publishes it, its source) goes with it; `sent` is called once the pipe consumer
	 * exists and returns what to call when it stops.
	 */
	async send(producerId: string, appData: Record<string, unknown> = {}, sent?: () => () => void): Promise<PipedProducer> {
		if (this.#closed) throw new Error('the pipe is closed');
		let pending = this.#sending.get(producerId);
		if (!pending) {
			const made = this.#transport.consume({ producerId });
			pending = made;
			this.#sending.set(producerId, made);
			made.then(
				(consumer) => {
					const stopped = sent?.();
					consumer.observer.once('close', () => {
						if (this.#sending.get(producerId) === made) this.#sending.delete(producerId);
						stopped?.();
					});
					// The producer went (or paused/resumed) here: the other side's copy must follow.
					consumer.on('producerclose', () => {
						if (!this.#closed) this.emit('sentclose', producerId);
					});
					consumer.on('producerpause', () => this.emit('sentpause', producerId, true));
					consumer.on('producerresume', () => this.emit('sentpause', producerId, false));
					if (this.#closed) consumer.close();
				},
				() => {
					if (this.#sending.get(producerId) === made) this.#sending.delete(producerId);
				},
			);
		}
		const consumer = await pending;
		return {
			producerId,
			kind: consumer.kind,
			rtpParameters: consumer.rtpParameters,
			paused: consumer.producerPaused,
			appData,
		};
	}

	/** Stop sending a producer (nobody there consumes it any more). */
	stopSending(producerId: string): void {
		const pending = this.#sending.get(producerId);
		this.#sending.delete(producerId);
		void pending?.then((c) => c.close(), () => undefined);
	}

	/** Produce here what the other node sends (same producer id): local consumers consume it as any producer. */
	async receive(piped: PipedProducer): Promise<types.Producer> {
		if (this.#closed) throw new Error('the pipe is closed');
		let pending = this.#receiving.get(piped.producerId);
		if (!pending) {
			pending = this.#transport.produce({
				id: piped.producerId,
				kind: piped.kind,
				rtpParameters: piped.rtpParameters,
				paused: piped.paused,
				appData: { ...piped.appData, remoteNode: this.remoteNode },
			});
			this.#receiving.set(piped.producerId, pending);
			pending.then(
				(producer) => {
					producer.observer.once('close', () => this.#receiving.delete(piped.producerId));
				},
				() => this.#receiving.delete(piped.producerId),
			);
		}
		return pending;
	}

	/** The other node's producer was paused or resumed there. */
	setPaused(producerId: string, paused: boolean): void {
		// A producer whose piping failed was logged where it failed; one closed meanwhile has nothing to mirror.
		void this.#receiving.get(producerId)?.then(
			(p) =>
				(paused ? p.pause() : p.resume()).catch((error: unknown) => {
					if (!p.closed) this.#log.warn({ err: error, producerId, paused }, 'cascade: could not mirror the other node\'s pause/resume');
				}),
			() => undefined,
		);
	}

	/** Whether a producer of the other node is produced here. */
	receiving(producerId: string): boolean {
		return this.#receiving.has(producerId);
	}

	/** The other node's producer closed (or is no longer wanted here). */
	stopReceiving(producerId: string): void {
		const pending = this.#receiving.get(producerId);
		this.#receiving.delete(producerId);
		void pending?.then((p) => p.close(), () => undefined);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#sending.clear();
		this.#receiving.clear();
		this.#transport.close();
		this.#log.info('cascade: pipe to the other node closed');
		this.emit('close');
		this.removeAllListeners();
	}
}
