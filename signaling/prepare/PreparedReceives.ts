/**
 * Receive transports prepared for people in the lobby (sfu PreparedReceive), by owner: one
 * per identity and room (a newer one replaces the older), at most `max` waiting at once and
 * `perAddress` from one client address (an invitation lets a client mint identities), each
 * closed after `ttlMs` unless a join took it. An entry stays findable by id until its
 * transport closes, so that a connect crossing the join still finds it.
 */
import type { Logger } from 'pino';
import { LimitError, type PreparedReceive } from '../../sfu/index.ts';

export interface PreparedReceivesOptions {
	ttlMs: number;
	/** Untaken prepared transports on this node at once. */
	max: number;
	/** Untaken prepared transports of one client address at once (people behind one NAT share it). */
	perAddress: number;
	log: Logger;
}

interface Entry {
	readonly room: string;
	readonly identity: string;
	readonly address: string;
	readonly prepared: PreparedReceive;
}

const ownerKey = (room: string, identity: string): string => `${room}\u0000${identity}`;

export class PreparedReceives {
	readonly #options: PreparedReceivesOptions;
	readonly #byId = new Map<string, Entry>();
	/** The untaken one of each owner. */
	readonly #waiting = new Map<string, Entry>();
	#closed = false;

	constructor(options: PreparedReceivesOptions) {
		this.#options = options;
	}

	get ttlMs(): number {
		return this.#options.ttlMs;
	}

	/** Untaken prepared transports. */
	get size(): number {
		return this.#waiting.size;
	}

	/** Whether one more may be prepared for this owner from this address (its own older one is replaced, so it does not count). */
	hasRoomFor(room: string, identity: string, address: string): boolean {
		if (this.#closed) return false;
		const own = this.#waiting.get(ownerKey(room, identity));
		if (this.#waiting.size - (own ? 1 : 0) >= this.#options.max) return false;
		let fromAddress = 0;
		for (const entry of this.#waiting.values()) if (entry.address === address && entry !== own) fromAddress++;
		return fromAddress < this.#options.perAddress;
	}

	add(room: string, identity: string, address: string, prepared: PreparedReceive): void {
		if (!this.hasRoomFor(room, identity, address)) {
			prepared.close();
			throw new LimitError(this.#closed ? 'shutting down' : 'too many prepared receive transports at once');
		}
		const key = ownerKey(room, identity);
		this.#waiting.get(key)?.prepared.close();
		const entry: Entry = { room, identity, address, prepared };
		const id = prepared.transport.id;
		this.#byId.set(id, entry);
		this.#waiting.set(key, entry);
		const timer = setTimeout(() => {
			if (!prepared.done) this.#options.log.debug({ roomId: room, peerId: identity, transportId: id }, 'prepared receive transport expired');
			prepared.close();
		}, this.#options.ttlMs);
		timer.unref();
		prepared.once('gone', (reason) => {
			this.#options.log.debug({ roomId: room, peerId: identity, transportId: id, reason }, 'lobby connection gone: prepared receive transport closed');
		});
		prepared.once('close', () => {
			clearTimeout(timer);
			if (this.#waiting.get(key) === entry) this.#waiting.delete(key);
		});
		prepared.transport.observer.once('close', () => {
			if (this.#byId.get(id) === entry) this.#byId.delete(id);
		});
	}

	/** This owner's prepared transport with this id (taken or not), if its transport is open. */
	find(room: string, identity: string, transportId: string): PreparedReceive | undefined {
		const entry = this.#byId.get(transportId);
		if (!entry || entry.room !== room || entry.identity !== identity || entry.prepared.transport.closed) return undefined;
		return entry.prepared;
	}

	/** Close this owner's untaken one, if any (it joined without it: of no use any more, and it holds dynacast up). */
	discard(room: string, identity: string): void {
		this.#waiting.get(ownerKey(room, identity))?.prepared.close();
	}

	close(): void {
		this.#closed = true;
		for (const entry of [...this.#waiting.values()]) entry.prepared.close();
	}
}
