/**
 * Who is in each room and how they are: online, away, reconnecting (their last socket
 * went silent or dropped; the heartbeat decides), left (still gone after `leaveAfterMs`).
 *
 * Live state (socket counts, leave timers) is in memory; every state change is written
 * through to a PresenceRecords store (the message store's engine: SQLite or Redis), and a
 * room's records are loaded before its first connection is counted (`hydrate`). So after a
 * crash and restart, people who left stay left, and people who were here show as
 * reconnecting (not vanished) until they come back or time out: the list never empties
 * and refills. The records are also the room's membership (who ever joined its chat).
 *
 * In a cluster whose rooms span nodes (no placement), `elsewhere` names who is connected to
 * the room on other nodes: nobody is shown reconnecting or left (at a drop, after a restart,
 * when the leave timer fires) while connected elsewhere, and a snapshot includes them.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { PresenceRecords } from '../chat/MessageStore.ts';
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
	/** How many `left` entries a room remembers in memory (for "last seen"). */
	maxLeft?: number;
	now?: () => number;
	/** Where presence is persisted (none: memory only). */
	store?: PresenceRecords;
	/** Identities (→ name) connected to the room on other nodes (cluster without placement). */
	elsewhere?: (room: string) => Promise<ReadonlyMap<string, string>>;
	logger?: Logger;
}

export class PresenceTracker extends EventEmitter<PresenceEvents> {
	readonly #rooms = new Map<string, Map<string, Entry>>();
	readonly #hydrated = new Map<string, Promise<void>>();
	readonly #options: PresenceOptions;
	readonly #now: () => number;
	#closed = false;

	constructor(options: PresenceOptions) {
		super();
		this.#options = options;
		this.#now = options.now ?? Date.now;
	}

	/**
	 * Load the room's persisted presence once (before its first connection is counted).
	 * Who was here before a restart shows as reconnecting, with a fresh leave timer. Never
	 * rejects: with the store unavailable the room starts from memory and the next
	 * connection tries again.
	 */
	hydrate(room: string): Promise<void> {
		const store = this.#options.store;
		if (!store) return Promise.resolve();
		let loading = this.#hydrated.get(room);
		if (!loading) {
			loading = Promise.all([store.loadPresence(room), this.#elsewhere(room)]).then(
				([records, elsewhere]) => {
					if (this.#closed) return;
					for (const record of records) {
						if (this.#rooms.get(room)?.has(record.identity)) continue; // live state wins
						const entry = this.#entry(room, record.identity, record.name);
						entry.lastSeen = record.lastSeen;
						if (record.state === 'left') entry.state = 'left';
						else if (elsewhere.has(record.identity)) entry.state = record.state === 'away' ? 'away' : 'online';
						else {
							entry.state = record.state === 'reconnecting' ? 'reconnecting' : 'online';
							this.#set(room, entry, 'reconnecting');
							this.#scheduleLeave(room, entry);
						}
					}
					this.#trimLeft(room);
				},
				(error: unknown) => {
					this.#hydrated.delete(room);
					this.#options.logger?.warn({ err: error, roomId: room }, 'presence: could not load the room from the store');
				},
			);
			this.#hydrated.set(room, loading);
		}
		return loading;
	}

	/** A socket of `identity` connected to the room. */
	connect(room: string, identity: string, name: string): void {
		const entry = this.#entry(room, identity, name);
		entry.sockets++;
		const renamed = entry.name !== name;
		entry.name = name;
		clearTimeout(entry.leaveTimer);
		entry.leaveTimer = undefined;
		const state = entry.state === 'away' && entry.sockets > 1 ? 'away' : 'online';
		if (renamed && entry.state === state) this.#persist(room, entry);
		this.#set(room, entry, state);
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
		if (this.#options.elsewhere) {
			// Still connected on another node? Then nothing changes.
			void this.#elsewhere(room).then((others) => {
				if (entry.sockets > 0 || this.#closed) return;
				if (others.has(identity)) return;
				this.#gone(room, entry, leaving);
			});
			return;
		}
		this.#gone(room, entry, leaving);
	}

	/** The room's presence, with the people connected on other nodes shown online (cluster without placement). */
	async clusterSnapshot(room: string): Promise<Presence[]> {
		if (!this.#options.elsewhere) return this.snapshot(room);
		const others = await this.#elsewhere(room);
		const list = this.snapshot(room);
		const byId = new Map(list.map((p) => [p.identity, p]));
		for (const [identity, name] of others) {
			const known = byId.get(identity);
			if (!known) list.push({ identity, name, state: 'online', lastSeen: this.#now() });
			else if (known.state !== 'online' && known.state !== 'away') known.state = 'online';
		}
		return list;
	}

	/** The last socket of `entry` is gone (here and elsewhere). */
	#gone(room: string, entry: Entry, leaving: boolean): void {
		if (leaving) {
			this.#set(room, entry, 'left');
			this.#trimLeft(room);
			return;
		}
		this.#set(room, entry, 'reconnecting');
		this.#scheduleLeave(room, entry);
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
		this.#closed = true;
		for (const room of this.#rooms.values()) for (const e of room.values()) clearTimeout(e.leaveTimer);
		this.#rooms.clear();
		this.#hydrated.clear();
		this.removeAllListeners();
	}

	#scheduleLeave(room: string, entry: Entry): void {
		clearTimeout(entry.leaveTimer);
		entry.leaveTimer = setTimeout(() => {
			entry.leaveTimer = undefined;
			if (entry.sockets !== 0) return;
			void this.#elsewhere(room).then((others) => {
				if (entry.sockets !== 0 || this.#closed || entry.state !== 'reconnecting') return;
				if (others.has(entry.identity)) this.#set(room, entry, 'online'); // back, on another node
				else {
					this.#set(room, entry, 'left');
					this.#trimLeft(room);
				}
			});
		}, this.#options.leaveAfterMs);
		entry.leaveTimer.unref();
	}

	#elsewhere(room: string): Promise<ReadonlyMap<string, string>> {
		const ask = this.#options.elsewhere;
		return ask ? ask(room).catch(() => new Map<string, string>()) : Promise.resolve(new Map<string, string>());
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
		this.#persist(room, entry);
	}

	/** Write-through, in order (one connection / one process); a failure is logged, memory stays right. */
	#persist(room: string, entry: Entry): void {
		const store = this.#options.store;
		if (!store || this.#closed) return;
		store.savePresence(room, view(entry)).catch((error: unknown) => {
			this.#options.logger?.warn({ err: error, roomId: room, peerId: entry.identity }, 'presence: could not persist a change');
		});
	}

	#trimLeft(room: string): void {
		const entries = this.#rooms.get(room);
		if (!entries) return;
		const left = [...entries.values()].filter((e) => e.state === 'left').sort((a, b) => a.lastSeen - b.lastSeen);
		const excess = left.length - (this.#options.maxLeft ?? 200);
		for (const e of left.slice(0, Math.max(0, excess))) entries.delete(e.identity);
	}
}

function view(entry: Entry): Presence {
	return { identity: entry.identity, name: entry.name, state: entry.state, lastSeen: entry.lastSeen };
}
