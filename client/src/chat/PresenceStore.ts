/**
 * Who is in the room and how they are (online, away, reconnecting, left), from the
 * server's presence:snapshot (on every connect) and presence:update notifications, plus
 * this participant's own activity state (presence:set), re-sent after a reconnect since the
 * server starts every new connection as online. DOM-free; React reads it through
 * subscribe()/snapshot().
 */
import type { Presence } from '../../../signaling/protocol/index.ts';
import { emitWithAck } from '../../../signaling/protocol/request.ts';
import type { ChatSocket } from './ChatClient.ts';

export interface PresenceSnapshot {
	/** By identity. */
	participants: ReadonlyMap<string, Presence>;
	/** Whether a snapshot from the server arrived on the current connection. */
	complete: boolean;
	/** What this participant reports about itself. */
	own: 'online' | 'away';
}

export class PresenceStore {
	readonly #socket: ChatSocket;
	readonly #participants = new Map<string, Presence>();
	readonly #listeners = new Set<() => void>();
	readonly #off: (() => void)[] = [];
	#complete = false;
	#own: 'online' | 'away' = 'online';
	#snapshot: PresenceSnapshot | undefined;
	#closed = false;

	constructor(socket: ChatSocket) {
		this.#socket = socket;
		const onSnapshot = ({ participants }: { participants: Presence[] }): void => {
			this.#participants.clear();
			for (const p of participants) this.#participants.set(p.identity, p);
			this.#complete = true;
			this.#changed();
		};
		const onUpdate = (p: Presence): void => {
			this.#participants.set(p.identity, p);
			this.#changed();
		};
		const onConnect = (): void => {
			// The server sets a new connection online; tell it again if this person is away.
			if (this.#own === 'away') void this.#send('away');
		};
		const onDisconnect = (): void => {
			this.#complete = false;
			this.#changed();
		};
		socket.on('presence:snapshot', onSnapshot);
		socket.on('presence:update', onUpdate);
		socket.on('connect', onConnect);
		socket.on('disconnect', onDisconnect);
		this.#off.push(
			() => socket.off('presence:snapshot', onSnapshot),
			() => socket.off('presence:update', onUpdate),
			() => socket.off('connect', onConnect),
			() => socket.off('disconnect', onDisconnect),
		);
	}

	/** Report this participant as away (idle, hidden) or online again. */
	setOwnState(state: 'online' | 'away'): void {
		if (state === this.#own || this.#closed) return;
		this.#own = state;
		this.#changed();
		if (this.#socket.connected) void this.#send(state);
	}

	subscribe = (listener: () => void): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};

	snapshot = (): PresenceSnapshot => {
		this.#snapshot ??= { participants: new Map(this.#participants), complete: this.#complete, own: this.#own };
		return this.#snapshot;
	};

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const off of this.#off) off();
		this.#listeners.clear();
	}

	async #send(state: 'online' | 'away'): Promise<void> {
		// Lost with the connection (a timeout answer): sent again on reconnect (see onConnect).
		await emitWithAck(this.#socket, 'presence:set', { state }, 5000);
	}

	#changed(): void {
		this.#snapshot = undefined;
		for (const listener of this.#listeners) listener();
	}
}
