/**
 * One mediasoup worker per core, each with a WebRtcServer so that every transport of a
 * worker shares one UDP and one TCP port (basePort + index). A worker that dies (or that
 * an operator restarts) is replaced on the same port, at once the first time and with a
 * growing delay if it keeps dying (a few seconds later while other workers are alive: they
 * take its participants first); its routers are closed by mediasoup and the rooms on
 * it move their peers to live workers (Room).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { InvalidStateError } from './errors.ts';
import { workerSpawnBin } from './worker/workerBin.ts';

export interface WorkerPoolOptions {
	workers: number;
	listenIp: string;
	announcedAddress: string;
	basePort: number;
	logLevel: types.WorkerLogLevel;
	logger: Logger;
	/** Delay before a dead worker is replaced (ms); doubled for each death within a minute, up to 10 s. */
	respawnDelayMs?: number;
	/**
	 * While other workers are alive, a dead one is replaced after this long at the soonest (ms):
	 * its start-up (~0.15 s of CPU) would compete with moving its participants to them.
	 */
	respawnDelayWithOthersMs?: number;
	/**
	 * Send and receive buffer of each worker's media sockets (bytes; 0 or absent: the
	 * kernel's default, ~208 KiB on Linux). A bigger receive buffer absorbs bursts while a
	 * busy worker is late reading; Linux caps it at net.core.rmem_max / wmem_max.
	 */
	socketBufferBytes?: number;
	/** Start each worker in a session of its own (default true where `setsid` exists): see worker/workerBin.ts. */
	ownSession?: boolean;
}

/** Default of WorkerPoolOptions.respawnDelayWithOthersMs. */
const RESPAWN_DELAY_WITH_OTHERS_MS = 3000;

export interface PooledWorker {
	readonly index: number;
	readonly port: number;
	readonly worker: types.Worker;
	readonly webRtcServer: types.WebRtcServer;
	/** Routers currently open on this worker. */
	routers: number;
	/** Consumers (WebRTC and pipe) currently open on this worker: what it forwards. */
	consumers: number;
	/** WebRTC transports open on this worker (about two per participant). */
	transports: number;
}

export type WorkerPoolEvents = {
	/** A worker died, or an operator closed it (restart()); it is being replaced. */
	workerdied: [index: number, error: Error];
	workerrespawned: [worker: PooledWorker];
};

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
	readonly #options: WorkerPoolOptions;
	readonly #workers: (PooledWorker | undefined)[];
	/** Recent deaths per worker index (for the respawn backoff). */
	readonly #deaths = new Map<number, number[]>();
	#closed = false;

	private constructor(options: WorkerPoolOptions) {
		super();
		this.#options = options;
		this.#workers = new Array<PooledWorker | undefined>(options.workers).fill(undefined);
	}

	static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
		const pool = new WorkerPool(options);
		try {
			await Promise.all(pool.#workers.map((_, index) => pool.#spawn(index)));
		} catch (error) {
			pool.close();
			throw error;
		}
		const cap = options.socketBufferBytes ? kernelLimit('/proc/sys/net/core/rmem_max') : undefined;
		options.logger.info(
			{
				workers: options.workers,
				ports: pool.ports,
				announcedAddress: options.announcedAddress,
				socketBufferBytes: options.socketBufferBytes ?? 0,
				// Linux grants min(asked, net.core.rmem_max): say so when that is less than asked.
				...(cap !== undefined && cap < (options.socketBufferBytes ?? 0) ? { receiveBufferCappedAt: cap, raiseWith: 'sysctl -w net.core.rmem_max=<bytes>' } : {}),
			},
			'mediasoup workers ready',
		);
		return pool;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Media ports in use (one per worker, UDP and TCP). */
	get ports(): number[] {
		return this.#workers.map((_, i) => this.#options.basePort + i);
	}

	/** Live workers (mediasoup closes a dead worker's routers before it reports the death: those are left out). */
	get workers(): readonly PooledWorker[] {
		return this.#workers.filter((w): w is PooledWorker => w !== undefined && !w.worker.closed);
	}

	/** A live worker, waiting up to `timeoutMs` for one to be (re)spawned when none is. */
	async whenAny(timeoutMs = 10_000): Promise<void> {
		if (this.workers.length > 0) return;
		if (this.#closed) throw new InvalidStateError('worker pool closed');
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.off('workerrespawned', done);
				reject(new InvalidStateError('no live mediasoup worker'));
			}, timeoutMs);
			const done = (): void => {
				clearTimeout(timer);
				resolve();
			};
			this.once('workerrespawned', done);
		});
	}

	/**
	 * Close one worker on purpose (an operator draining it): its rooms move their peers to
	 * the other workers as if it had died, and it is replaced.
	 */
	restart(index: number): boolean {
		const pooled = this.#workers[index];
		if (!pooled || this.#closed) return false;
		// Closed first, then reported lost: the same order as a death (mediasoup closes a dead
		// worker's routers before it emits 'died'), so rooms move peers off closed routers only.
		pooled.worker.close();
		this.#options.logger.info({ worker: index, pid: pooled.worker.pid }, 'mediasoup worker closed by an operator: its participants move to the other workers');
		this.#lost(pooled, new Error('closed by an operator'));
		return true;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const w of this.#workers) w?.worker.close();
		this.#workers.fill(undefined);
		this.removeAllListeners();
	}

	async #spawn(index: number): Promise<PooledWorker> {
		const { listenIp, announcedAddress, basePort, logLevel, logger, socketBufferBytes } = this.#options;
		const workerBin = workerSpawnBin(this.#options.ownSession ?? true);
		const port = basePort + index;
		// mediasoup closes every worker on SIGINT/SIGTERM by itself: the application decides
		// (it drains meetings first), so the listeners the new worker adds are taken off again.
		const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
		const worker = await mediasoup.createWorker({
			logLevel,
			logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'rtx', 'bwe', 'score', 'simulcast', 'svc'],
			...(workerBin ? { workerBin } : {}),
			appData: { index },
		});
		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			for (const listener of process.listeners(signal)) if (!before[signal].includes(listener)) process.removeListener(signal, listener);
		}
		const log = logger.child({ worker: index, pid: worker.pid });
		let webRtcServer: types.WebRtcServer;
		try {
			const announced = announcedAddress === listenIp ? undefined : announcedAddress;
			webRtcServer = await worker.createWebRtcServer({
				listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
					protocol,
					ip: listenIp,
					port,
					...(announced ? { announcedAddress: announced } : {}),
					...(socketBufferBytes ? { sendBufferSize: socketBufferBytes, recvBufferSize: socketBufferBytes } : {}),
				})),
			});
		} catch (error) {
			worker.close();
			throw new Error(`cannot listen for media on ${listenIp}:${port} (udp/tcp): ${(error as Error).message}${ephemeralPortHint(port)}`);
		}
		if (this.#closed) {
			// Closed while this worker was starting (a respawn under way): it must not outlive the pool.
			worker.close();
			throw new InvalidStateError('worker pool closed');
		}
		const pooled: PooledWorker = { index, port, worker, webRtcServer, routers: 0, consumers: 0, transports: 0 };
		this.#workers[index] = pooled;
		worker.observer.on('newrouter', (router) => {
			pooled.routers++;
			router.observer.once('close', () => pooled.routers--);
			router.observer.on('newtransport', (transport) => {
				if (transport.type === 'webrtc') {
					pooled.transports++;
					transport.observer.once('close', () => pooled.transports--);
				}
				transport.observer.on('newconsumer', (consumer) => {
					pooled.consumers++;
					consumer.observer.once('close', () => pooled.consumers--);
				});
			});
		});
		worker.on('died', (error) => {
			if (/code:0,/.test(error.message)) {
				// It closed itself: SIGINT or SIGTERM reached it (not through Node, which closes
				// workers itself), e.g. systemd's default KillMode=control-group.
				log.error({ err: error }, 'mediasoup worker exited on a signal sent to it, not to Parley (systemd: use KillMode=mixed)');
			} else log.error({ err: error }, 'mediasoup worker died: its participants move to a live worker');
			this.#lost(pooled, error);
		});
		log.debug({ port, ownSession: workerBin !== undefined }, 'mediasoup worker started');
		return pooled;
	}

	/** A worker is gone (died or closed by an operator): tell the rooms, replace it. */
	#lost(pooled: PooledWorker, error: Error): void {
		const { index } = pooled;
		if (this.#workers[index] !== pooled) return;
		this.#workers[index] = undefined;
		if (this.#closed) return;
		const now = Date.now();
		const recent = (this.#deaths.get(index) ?? []).filter((t) => now - t < 60_000);
		recent.push(now);
		this.#deaths.set(index, recent);
		const backoff = Math.min(10_000, (this.#options.respawnDelayMs ?? 100) * 2 ** (recent.length - 1));
		const others = this.workers.length > 0 ? (this.#options.respawnDelayWithOthersMs ?? RESPAWN_DELAY_WITH_OTHERS_MS) : 0;
		const delay = Math.max(backoff, others);
		this.emit('workerdied', index, error);
		const log = this.#options.logger.child({ worker: index, pid: pooled.worker.pid });
		setTimeout(() => {
			if (this.#closed) return;
			this.#spawn(index).then(
				(w) => {
					log.warn({ newPid: w.worker.pid, delayMs: delay }, 'mediasoup worker replaced');
					this.emit('workerrespawned', w);
				},
				(err: unknown) => {
					if (!this.#closed) log.fatal({ err }, 'cannot replace mediasoup worker');
				},
			);
		}, delay).unref();
	}
}

/** A number from a /proc/sys file, or undefined when it cannot be read (not Linux). */
function kernelLimit(file: string): number | undefined {
	try {
		const value = Number(readFileSync(file, 'utf8').trim());
		return Number.isFinite(value) ? value : undefined;
	} catch {
		return undefined;
	}
}

/**
 * Why a fixed media port may be taken: inside the kernel's ephemeral range (Linux default
 * 32768-60999) any outgoing connection or unbound UDP socket can hold it, now or when a dead
 * worker is respawned on it. Empty when the port is outside that range or the range is unknown.
 */
export function ephemeralPortHint(port: number, rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): string {
	let range: number[];
	try {
		range = readFileSync(rangeFile, 'utf8').trim().split(/\s+/).map(Number);
	} catch {
		return '';
	}
	const [low, high] = range;
	if (low === undefined || high === undefined || port < low || port > high) return '';
	return ` (port ${port} is inside the kernel's ephemeral range ${low}-${high}, where outgoing connections take their ports: choose a media port below ${low} or reserve it with sysctl net.ipv4.ip_local_reserved_ports=${port})`;
}
