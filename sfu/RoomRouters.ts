/**
 * A room's routers, one per worker it uses, and the pipes between them. A producer is
 * piped (`router.pipeToRouter`) to another router of the room only when someone there
 * consumes it (or, for microphones, when the active speaker observer on the room's main
 * router must hear it); a pipe nobody needs any more is closed after a short delay.
 *
 * When a router is lost (its worker died or was closed), its entry and its pipes go
 * away and `routerlost` tells the room, which moves that router's peers elsewhere.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { InvalidStateError } from './errors.ts';
import type { PooledWorker } from './WorkerPool.ts';

export interface RouterEntry {
	readonly worker: PooledWorker;
	readonly router: types.Router;
}

interface Pipe {
	readonly producerId: string;
	readonly target: number;
	/** Resolves with the pipe producer on the target router. */
	readonly ready: Promise<types.Producer>;
	producer: types.Producer | undefined;
	/** Consume calls in progress that rely on this pipe. */
	leases: number;
	closeTimer: NodeJS.Timeout | undefined;
}

export type RoomRoutersEvents = {
	/** The router on this worker is gone (the worker died or was closed). */
	routerlost: [workerIndex: number];
	/** The main router changed (the previous one was lost): microphones must be added again. */
	mainchanged: [];
	dominantspeaker: [producer: types.Producer];
};

export interface RoomRoutersOptions {
	roomId: string;
	logger: Logger;
	/** The routers' media codecs (the same on every router of the room). */
	codecs: types.RouterRtpCodecCapability[];
	/** How long an unneeded pipe stays open before it is closed (ms). */
	pipeIdleMs?: number;
}

export class RoomRouters extends EventEmitter<RoomRoutersEvents> {
	readonly #options: RoomRoutersOptions;
	readonly #log: Logger;
	readonly #entries = new Map<number, RouterEntry>();
	readonly #creating = new Map<number, Promise<RouterEntry>>();
	readonly #pipes = new Map<string, Pipe>();
	#main: RouterEntry | undefined;
	readonly #standby = new WeakMap<types.Router, Promise<types.DataProducer>>();
	#observer: types.ActiveSpeakerObserver | undefined;
	#hadMain = false;
	#closed = false;

	constructor(options: RoomRoutersOptions) {
		super();
		this.#options = options;
		this.#log = options.logger;
	}

	/** Workers the room has routers on, in the order it got them. */
	get workers(): number[] {
		return [...this.#entries.keys()];
	}

	/** The router with the active speaker observer (and the capabilities clients load). */
	get main(): RouterEntry | undefined {
		return this.#main;
	}

	get pipeCount(): number {
		return this.#pipes.size;
	}

	entry(workerIndex: number): RouterEntry | undefined {
		return this.#entries.get(workerIndex);
	}

	/**
	 * The router's standby data producer (on a DirectTransport; created on first use): it never
	 * sends anything. A prepared receive transport consumes it, so that the browser has a data
	 * channel to negotiate and connects before there is any media (PreparedReceive).
	 */
	standbyDataProducer(entry: RouterEntry): Promise<types.DataProducer> {
		let pending = this.#standby.get(entry.router);
		if (!pending) {
			pending = entry.router.createDirectTransport().then((direct) => direct.produceData({ label: 'parley-standby' }));
			pending.catch(() => this.#standby.delete(entry.router));
			this.#standby.set(entry.router, pending);
		}
		return pending;
	}

	/** The room's router on this worker, created on first use (concurrent callers share it). */
	async routerOn(worker: PooledWorker): Promise<RouterEntry> {
		if (this.#closed) throw new InvalidStateError(`room ${this.#options.roomId} closed`);
		const existing = this.#entries.get(worker.index);
		if (existing && existing.worker === worker) return existing;
		let pending = this.#creating.get(worker.index);
		if (!pending) {
			pending = this.#create(worker).finally(() => this.#creating.delete(worker.index));
			this.#creating.set(worker.index, pending);
		}
		return pending;
	}

	async #create(worker: PooledWorker): Promise<RouterEntry> {
		const router = await worker.worker.createRouter({ mediaCodecs: this.#options.codecs, appData: { roomId: this.#options.roomId } });
		if (this.#closed) {
			router.close();
			throw new InvalidStateError(`room ${this.#options.roomId} closed`);
		}
		const entry: RouterEntry = { worker, router };
		this.#entries.set(worker.index, entry);
		router.observer.once('close', () => this.#lost(entry));
		if (!this.#main) {
			const replacing = this.#hadMain;
			await this.#becomeMain(entry);
			if (replacing) this.emit('mainchanged');
		}
		this.#log.info({ worker: worker.index, routerId: router.id, routers: this.#entries.size }, 'room router opened');
		return entry;
	}

	async #becomeMain(entry: RouterEntry): Promise<void> {
		this.#main = entry;
		this.#hadMain = true;
		const observer = await entry.router.createActiveSpeakerObserver({ interval: 300 });
		if (this.#main !== entry || this.#closed) {
			observer.close();
			return;
		}
		this.#observer = observer;
		observer.on('dominantspeaker', ({ producer }) => this.emit('dominantspeaker', producer));
	}

	/**
	 * Make a producer consumable on `to` (a pipe from its own router `from`, unless they are
	 * the same). Returns a release function: call it once the consumer exists (or failed).
	 */
	async lease(producer: types.Producer, from: RouterEntry, to: RouterEntry): Promise<() => void> {
		if (from === to) return () => undefined;
		const pipe = this.#pipe(producer, from, to);
		pipe.leases++;
		clearTimeout(pipe.closeTimer);
		pipe.closeTimer = undefined;
		let released = false;
		const release = (): void => {
			if (released) return;
			released = true;
			pipe.leases--;
		};
		try {
			await pipe.ready;
		} catch (error) {
			release();
			throw error;
		}
		return release;
	}

	#pipe(producer: types.Producer, from: RouterEntry, to: RouterEntry): Pipe {
		const key = `${producer.id}>${to.worker.index}`;
		const existing = this.#pipes.get(key);
		if (existing) return existing;
		const pipe: Pipe = {
			producerId: producer.id,
			target: to.worker.index,
			producer: undefined,
			leases: 0,
			closeTimer: undefined,
			ready: from.router.pipeToRouter({ producerId: producer.id, router: to.router }).then(({ pipeProducer }) => {
				if (!pipeProducer) throw new InvalidStateError('no pipe producer');
				pipe.producer = pipeProducer;
				pipeProducer.observer.once('close', () => {
					if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
				});
				this.#log.debug({ producerId: producer.id, from: from.worker.index, to: to.worker.index }, 'producer piped');
				return pipeProducer;
			}),
		};
		pipe.ready.catch(() => {
			if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
		});
		this.#pipes.set(key, pipe);
		return pipe;
	}

	/** Let the active speaker observer (on the main router) hear a microphone. */
	async observe(producer: types.Producer, from: RouterEntry): Promise<void> {
		const main = this.#main;
		if (!main) return;
		// The observer's pipe is never released: it is needed while the microphone exists.
		if (from !== main) await this.lease(producer, from, main);
		if (this.#observer && this.#main === main && !this.#observer.closed) await this.#observer.addProducer({ producerId: producer.id });
	}

	/**
	 * Close the pipes of a producer (or of all producers) that nobody needs any more, after
	 * `pipeIdleMs`. `needed(producerId, workerIndex)` says whether someone on that worker
	 * consumes it (or the speaker observer must hear it).
	 */
	sweep(needed: (producerId: string, workerIndex: number) => boolean, producerId?: string): void {
		for (const pipe of this.#pipes.values()) {
			if (producerId !== undefined && pipe.producerId !== producerId) continue;
			if (pipe.leases > 0 || pipe.closeTimer || needed(pipe.producerId, pipe.target)) continue;
			pipe.closeTimer = setTimeout(() => {
				pipe.closeTimer = undefined;
				if (this.#closed || pipe.leases > 0 || needed(pipe.producerId, pipe.target)) return;
				this.#log.debug({ producerId: pipe.producerId, to: pipe.target }, 'pipe closed: nobody consumes it there');
				// Closing the pipe producer closes its pipe consumer on the source router too.
				pipe.producer?.close();
			}, this.#options.pipeIdleMs ?? 1000);
			pipe.closeTimer.unref();
		}
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const pipe of this.#pipes.values()) clearTimeout(pipe.closeTimer);
		this.#pipes.clear();
		for (const entry of this.#entries.values()) entry.router.close();
		this.#entries.clear();
		this.removeAllListeners();
	}

	#lost(entry: RouterEntry): void {
		const index = entry.worker.index;
		if (this.#entries.get(index) === entry) this.#entries.delete(index);
		if (this.#closed) return;
		for (const [key, pipe] of this.#pipes) {
			if (pipe.target === index) {
				clearTimeout(pipe.closeTimer);
				this.#pipes.delete(key);
			}
		}
		this.#log.warn({ worker: index, routers: this.#entries.size }, 'room router lost with its worker');
		if (this.#main === entry) {
			this.#main = undefined;
			this.#observer = undefined;
			const next = this.#entries.values().next().value;
			if (next) {
				void this.#becomeMain(next).then(
					() => this.emit('mainchanged'),
					(err: unknown) => this.#log.error({ err }, 'no active speaker observer on the new main router'),
				);
			}
		}
		this.emit('routerlost', index);
	}
}
