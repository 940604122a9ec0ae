/**
 * The media side of Parley: a worker pool and the rooms on it. The signaling layer asks
 * it for rooms by name; rooms are created on the least loaded worker on first use.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { InvalidStateError, UnavailableError } from './errors.ts';
import type { types } from 'mediasoup';
import { routerCodecs } from './codecs.ts';
import { Room } from './Room.ts';
import { WorkerPool } from './WorkerPool.ts';
import { WorkerLoad } from './placement/WorkerLoad.ts';
import { HeadroomPlacement, type PlacementPolicy } from './placement/Placement.ts';
import type { PooledWorker } from './WorkerPool.ts';

export type SfuEvents = {
	roomcreated: [room: Room];
};

export class Sfu extends EventEmitter<SfuEvents> {
	readonly pool: WorkerPool;
	/** CPU of each worker, sampled every few seconds (placement, metrics, admin). */
	readonly load: WorkerLoad;
	readonly #config: Config;
	readonly #logger: Logger;
	readonly #placement: PlacementPolicy;
	readonly #rooms = new Map<string, Room>();
	readonly #creating = new Map<string, Promise<Room>>();
	#closed = false;
	/** Why new rooms are refused (draining), or null. */
	#refuseNewRooms: string | null = null;
	#capabilities: Promise<types.RtpCapabilities> | null = null;

	private constructor(pool: WorkerPool, config: Config, logger: Logger, placement: PlacementPolicy) {
		super();
		this.pool = pool;
		this.load = new WorkerLoad(pool, { intervalMs: 2000, logger });
		this.#config = config;
		this.#logger = logger;
		this.#placement = placement;
	}

	/** `placement`: any policy; default HeadroomPlacement with the `placement.*` configuration. */
	static async create(config: Config, logger: Logger, placement?: PlacementPolicy): Promise<Sfu> {
		const pool = await WorkerPool.create({
			workers: config.media.workers,
			listenIp: config.media.listenIp,
			announcedAddress: config.media.announcedAddress ?? config.media.listenIp,
			basePort: config.media.basePort,
			socketBufferBytes: config.media.socketBufferBytes,
			logLevel: config.media.workerLogLevel,
			logger: logger.child({ component: 'sfu' }),
		});
		return new Sfu(pool, config, logger, placement ?? new HeadroomPlacement(config.placement));
	}

	get rooms(): ReadonlyMap<string, Room> {
		return this.#rooms;
	}

	/** The open room with this name, creating it if needed (concurrent callers share one creation). */
	async room(id: string): Promise<Room> {
		if (this.#closed) throw new InvalidStateError('sfu closed');
		const existing = this.#rooms.get(id);
		if (existing && !existing.closed) return existing;
		let pending = this.#creating.get(id);
		if (!pending) {
			if (this.#refuseNewRooms !== null) throw new UnavailableError(this.#refuseNewRooms);
			pending = Room.create(id, this.#place, {
				emptyTimeoutMs: this.#config.rooms.emptyTimeoutMs,
				videoCodec: this.#config.media.videoCodec,
				qualityIntervalMs: this.#config.media.qualityIntervalMs,
				dynacastLowerDelayMs: this.#config.media.dynacastLowerDelayMs,
				keyFrameRequestDelayMs: this.#config.media.keyFrameRequestDelayMs,
				maxPeers: this.#config.rooms.maxPeers,
				initialOutgoingBitrate: this.#config.media.initialOutgoingBitrate,
				minOutgoingBitrate: this.#config.media.minOutgoingBitrate,
				videoMinBitrateKbps: this.#config.media.videoMinBitrateKbps,
				pipeIdleMs: this.#config.placement.pipeIdleMs,
				logger: this.#logger,
				peerLimits: {
					transportsPerDirection: this.#config.limits.transportsPerDirection,
					consumersPerProducer: this.#config.limits.consumersPerProducer,
				},
			}).then(
				(room) => {
					this.#creating.delete(id);
					if (this.#closed) {
						room.close();
						throw new InvalidStateError('sfu closed');
					}
					this.#rooms.set(id, room);
					room.once('close', () => {
						if (this.#rooms.get(id) === room) this.#rooms.delete(id);
					});
					this.emit('roomcreated', room);
					return room;
				},
				(error: unknown) => {
					this.#creating.delete(id);
					throw error;
				},
			);
			this.#creating.set(id, pending);
		}
		return pending;
	}

	/** A worker for a peer (or a new room) by the placement policy; waits for a respawn when none is live. */
	readonly #place = async (roomWorkers: readonly number[], avoid?: number): Promise<PooledWorker> => {
		if (this.#closed) throw new InvalidStateError('sfu closed');
		await this.pool.whenAny();
		const workers = this.pool.workers.map((worker) => ({ worker, cpuPercent: this.load.get(worker.index)?.cpuPercent ?? null }));
		return this.#placement.choose({ workers, roomWorkers, ...(avoid !== undefined ? { avoid } : {}) });
	};

	/**
	 * The routers' RTP capabilities. Every router is made with the same codecs, so they are the
	 * same for every room: the lobby loads its media Device from them before the person joins.
	 * Read from an open room, or once from a router made for the purpose (and closed at once).
	 */
	rtpCapabilities(): Promise<types.RtpCapabilities> {
		for (const room of this.#rooms.values()) if (!room.closed) return Promise.resolve(room.rtpCapabilities);
		if (!this.#capabilities) {
			const made = (async () => {
				await this.pool.whenAny();
				const worker = this.pool.workers.find((w) => !w.worker.closed) ?? this.pool.workers[0]!;
				const router = await worker.worker.createRouter({ mediaCodecs: routerCodecs(this.#config.media) });
				const capabilities = router.rtpCapabilities;
				router.close();
				return capabilities;
			})();
			made.catch(() => {
				if (this.#capabilities === made) this.#capabilities = null;
			});
			this.#capabilities = made;
		}
		return this.#capabilities;
	}

	/** Refuse to open rooms that are not open yet (running meetings go on); null accepts them again. */
	refuseNewRooms(reason: string | null): void {
		this.#refuseNewRooms = reason;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const room of [...this.#rooms.values()]) room.close();
		this.load.close();
		this.pool.close();
		this.removeAllListeners();
	}
}
