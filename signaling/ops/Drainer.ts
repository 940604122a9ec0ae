/**
 * Taking the server out of service without cutting calls: once draining, the server is
 * not ready (load balancers stop sending people), opens no new rooms, and lets running
 * meetings go on until they end or the grace period is over. Then the remaining
 * participants are told the server is going away (`session:ended` with
 * `server-shutdown`: clients keep the call on screen and reconnect, through the load
 * balancer to another server, or to this one once it is back) and disconnected.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Sfu } from '../../sfu/index.ts';
import type { ParleyServer } from '../session.ts';

export type DrainerEvents = {
	draining: [graceMs: number];
	/** The remaining meetings are about to be ended (the grace period is over, or they emptied). */
	ending: [];
	/** Every meeting ended (by itself or at the end of the grace period). */
	drained: [];
};

export interface DrainState {
	draining: boolean;
	/** When draining started (ms since the epoch), or null. */
	since: number | null;
	/** When the remaining meetings are ended (ms since the epoch), or null. */
	deadline: number | null;
	/** Participants still in meetings. */
	peers: number;
	done: boolean;
}

export interface DrainerOptions {
	sfu: Sfu;
	io: ParleyServer;
	logger: Logger;
	graceMs: number;
	/** How often the running meetings are checked (ms). */
	pollMs?: number;
}

export class Drainer extends EventEmitter<DrainerEvents> {
	readonly #sfu: Sfu;
	readonly #io: ParleyServer;
	readonly #log: Logger;
	readonly #graceMs: number;
	readonly #pollMs: number;
	#since: number | null = null;
	#deadline: number | null = null;
	#poll: NodeJS.Timeout | undefined;
	#done = false;

	constructor({ sfu, io, logger, graceMs, pollMs = 250 }: DrainerOptions) {
		super();
		this.#sfu = sfu;
		this.#io = io;
		this.#log = logger;
		this.#graceMs = graceMs;
		this.#pollMs = pollMs;
	}

	get draining(): boolean {
		return this.#since !== null;
	}

	get state(): DrainState {
		return { draining: this.draining, since: this.#since, deadline: this.#deadline, peers: this.#peers(), done: this.#done };
	}

	/**
	 * Start draining (idempotent). A later call may shorten the grace period, never extend it.
	 * `graceMs` defaults to the configured `ops.drainGraceMs`.
	 */
	start(graceMs = this.#graceMs): DrainState {
		const now = Date.now();
		const deadline = now + graceMs;
		if (this.#since === null) {
			this.#since = now;
			this.#deadline = deadline;
			this.#sfu.refuseNewRooms('this server is going down for maintenance and opens no new meetings; try again in a moment');
			this.#log.info({ graceMs, rooms: this.#sfu.rooms.size, peers: this.#peers() }, 'draining: no new rooms, meetings continue');
			this.emit('draining', graceMs);
			this.#poll = setInterval(() => this.#check(), this.#pollMs);
			this.#poll.unref();
		} else if (this.#deadline !== null && deadline < this.#deadline) {
			this.#deadline = deadline;
			this.#log.info({ graceMs }, 'draining: grace period shortened');
		}
		this.#check();
		return this.state;
	}

	close(): void {
		clearInterval(this.#poll);
		this.removeAllListeners();
	}

	#peers(): number {
		let peers = 0;
		for (const room of this.#sfu.rooms.values()) peers += room.peers.size;
		return peers;
	}

	#check(): void {
		if (this.#done || this.#deadline === null) return;
		const peers = this.#peers();
		if (peers > 0 && Date.now() < this.#deadline) return;
		this.#done = true;
		clearInterval(this.#poll);
		if (peers > 0) {
			this.#log.warn({ peers, rooms: this.#sfu.rooms.size }, 'drain grace period over: ending the remaining meetings');
		} else this.#log.info('drained: no meetings left');
		this.emit('ending');
		this.#io.local.emit('session:ended', { reason: 'server-shutdown' });
		for (const room of [...this.#sfu.rooms.values()]) room.close();
		this.#io.local.disconnectSockets(true);
		this.emit('drained');
	}
}
