/**
 * Who is in each room and how they are: online, away, reconnecting (their last socket
 * went silent or dropped; the heartbeat decides), left (still gone after `leaveAfterMs`).
 * In memory, per signaling process.
 */
import { EventEmitter } from 'node:events';
import type { Presence, PresenceState } from '../protocol/index.ts';

interface Entry extends Presence {
	sockets: number;
	leaveTimer: NodeJS.Timeout | undefined;
}

export type PresenceEvents = {
	update: [room: string, presence: Presence];
};

export interface PresenceOptions {
	leaveAfterMs: number;
	/** How many `left` entries a room remembers (for "last seen"). */
	maxLeft?: number;
	now?: () => number;
}

export class PresenceTracker extends EventEmitter<PresenceEvents> {
	readonly #rooms = new Map<string, Map<string, Entry>>();
	readonly #options: PresenceOptions;
	readonly #now: () => number;

	constructor(options: PresenceOptions) {
		super();
		this.#options = options;
		this.#now = options.now ?? Date.now;
	}

	/** A socket of `identity` connected to the room. */
	connect(room: string, identity: string, name: string): void {
		const entry = this.#entry(room, identity, name);
		entry.sockets++;
		entry.name = name;
		clearTimeout(entry.leaveTimer);
		entry.leaveTimer = undefined;
		this.#set(room, entry, entry.state === 'away' && entry.sockets > 1 ? 'away' : 'online');
	}

	/**
	 * A socket of `identity` disconnected. `leaving`: the client said goodbye (left at
	 * once); otherwise the connection dropped or its heartbeat timed out (reconnecting).
	 */
	disconnect(room: string, identity: string, leaving = false): void {
		const entry = this.#rooms.get(room)?.get(identity);
		if (!entry || entry.sockets === 0) return;
		entry.sockets--;
		if (entry.sockets > 0) return;
		if (leaving) {
			this.#set(room, entry, 'left');
			this.#trimLeft(room);
			return;
		}
		this.#set(room, entry, 'reconnecting');
		entry.leaveTimer = setTimeout(() => {
			entry.leaveTimer = undefined;
			if (entry.sockets === 0) {
				this.#set(room, entry, 'left');
				this.#trimLeft(room);
			}
		}, this.#options.leaveAfterMs);
		entry.leaveTimer.unref();
	}

	/** The client reports activity state (idle → away, back → online). */
	setState(room: string, identity: string, state: 'online' | 'away'): void {
		const entry = this.#rooms.get(room)?.get(identity);
		if (entry && entry.sockets > 0) this.#set(room, entry, state);
	}

	/** A sign of life (any request): refreshes last-seen without an update event. */
	touch(room: string, identity: string): void {
		const entry = this.#rooms.get(room)?.get(identity);
		if (entry) entry.lastSeen = this.#now();
	}

	get(room: string, identity: string): Presence | undefined {
		const entry = this.#rooms.get(room)?.get(identity);
		return entry ? view(entry) : undefined;
	}

	snapshot(room: string): Presence[] {
		return [...(this.#rooms.get(room)?.values() ?? [])].map(view);
	}

	close(): void {
		for (const room of this.#rooms.values()) for (const e of room.values()) clearTimeout(e.leaveTimer);
		this.#rooms.clear();
		this.removeAllListeners();
	}

	#entry(room: string, identity: string, name: string): Entry {
		let entries = this.#rooms.get(room);
		if (!entries) this.#rooms.set(room, (entries = new Map()));
		let entry = entries.get(identity);
		if (!entry) {
			entry = { identity, name, state: 'left', lastSeen: this.#now(), sockets: 0, leaveTimer: undefined };
			entries.set(identity, entry);
		}
		return entry;
	}

	#set(room: string, entry: Entry, state: PresenceState): void {
		entry.lastSeen = this.#now();
		if (entry.state === state) return;
		entry.state = state;
		this.emit('update', room, view(entry));
	}

	#trimLeft(room: string): void {
		const entries = this.#rooms.get(room);
		if (!entries) return;
		const left = [...entries.values()].filter((e) => e.state === 'left').sort((a, b) => a.lastSeen - b.lastSeen);
		const excess = left.length - (this.#options.maxLeft ?? 200);
		for (const e of left.slice(0, Math.max(0, excess))) entries.delete(e.identity);
		if (entries.size === 0) this.#rooms.delete(room);
	}
}

function view(entry: Entry): Presence {
	return { identity: entry.identity, name: entry.name, state: entry.state, lastSeen: entry.lastSeen };
}
