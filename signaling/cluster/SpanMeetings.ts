/**
 * One meeting for a room spanning nodes. The room's host node holds the one true meeting
 * (roles, settings, hands, the record in Redis); each node serving a copy of the room keeps
 * its own people's connections and waiting room, and:
 *   - reports to the host node who is in and who waits there (its whole list, at each change);
 *   - sends the changes that belong to the host's meeting (a hand, a role, the settings, a
 *     decision on the waiting list) to the host node, which makes them there;
 *   - follows the host node's meeting (`mirror`, sent by the host at each change): roles (so a
 *     co-host made on any node is one on every node), settings, hands, who is in everywhere,
 *     the merged waiting list.
 * The host node sends `meeting:state`, `waiting:list` and `meeting:you` to the room's sockets on
 * every node (through the Socket.IO Redis adapter); a copy sends none of its own.
 * Decisions on the waiting list are carried out by every node on who waits there (`decide`).
 */
import type { Logger } from 'pino';
import type { Meeting } from '../meeting/Meeting.ts';
import type { MeetingControl } from '../meeting/MeetingControl.ts';
import type { MeetingRegistry } from '../meeting/MeetingRegistry.ts';
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import type { MeetingMirror, MeetingRequest, MeetingResult } from './CascadeBus.ts';
import type { SpanningRooms } from './SpanningRooms.ts';

/** How long a change for the host node's meeting is asked again when it does not answer (ms; the bus waits 3 s per ask, clients 10 s). */
const HOST_RETRY_MS = 4000;

/** How this node takes part in a room's meeting. */
export type SpanMode = 'alone' | 'host' | 'copy';

export interface SpanMeetingsOptions {
	meetings: MeetingRegistry;
	control: MeetingControl;
	/** The cluster's spanning rooms (null before the cluster starts). */
	spanning: () => SpanningRooms | null;
	log: Logger;
}

export class SpanMeetings {
	readonly #options: SpanMeetingsOptions;
	readonly #log: Logger;
	/** What each copy's meeting last reported to its host node (room → its lists, as sent). */
	readonly #reported = new Map<string, string>();
	/** Report a copy's meeting now (room → the bound meeting's trigger). */
	readonly #triggers = new Map<string, () => void>();

	constructor(options: SpanMeetingsOptions) {
		this.#options = options;
		this.#log = options.log.child({ component: 'cascade' });
	}

	mode(room: string): SpanMode {
		const spanning = this.#options.spanning();
		if (spanning?.isCopy(room)) return 'copy';
		return spanning?.spans(room) ? 'host' : 'alone';
	}

	/** Follow a meeting of this node: a copy reports to the host node, the host node mirrors to the copies. */
	bind(meeting: Meeting): void {
		const room = meeting.id;
		let scheduled = false;
		const changed = (): void => {
			if (scheduled) return;
			scheduled = true;
			setImmediate(() => {
				scheduled = false;
				const mode = this.mode(room);
				if (mode === 'copy' && !meeting.closed) void this.#report(meeting);
				else if (mode === 'host' && !meeting.closed) void this.#mirror(meeting);
			});
		};
		meeting.on('change', changed);
		meeting.on('waitingchange', changed);
		meeting.on('recordchange', changed);
		this.#triggers.set(room, changed);
		meeting.once('close', () => {
			if (this.#triggers.get(room) === changed) this.#triggers.delete(room);
			const reported = this.#reported.get(room);
			this.#reported.delete(room);
			// The copy's meeting is over here (its last person left, or the meeting ended): the host forgets its people.
			if (this.mode(room) === 'copy' && reported) void this.#send({ action: 'report', room, members: [], waiting: [] }).catch(() => undefined);
		});
	}

	/** A copy's report or change for a meeting hosted here (the sender is a node of the room: SpanningRooms checked). */
	async fromCopy(from: string, request: MeetingRequest): Promise<MeetingResult> {
		const { meetings, control } = this.#options;
		const existing = meetings.get(request.room);
		if (request.action === 'report') {
			if (!existing && request.members.length === 0 && request.waiting.length === 0) return {};
			const meeting = existing && !existing.closed ? existing : meetings.getOrCreate(request.room);
			meeting.setRemote(from, request.members, request.waiting, request.known ?? []);
			return {};
		}
		if (!existing || existing.closed) return { refused: 'invalid_state', message: 'the meeting has ended' };
		try {
			switch (request.action) {
				case 'hand':
					if (request.raised) existing.raiseHand(request.identity);
					else control.lowerHand(existing, request.identity, request.by);
					return {};
				case 'setRole':
					control.setRole(existing, request.identity, request.role, request.by);
					return {};
				case 'settings':
					return { settings: existing.updateSettings(request.patch) };
				case 'decide':
					return { ids: await this.decide(existing, request.identity, request.decision) };
			}
		} catch (error) {
			if (error instanceof ProtocolError && (error.code === 'not_found' || error.code === 'invalid_state' || error.code === 'forbidden')) {
				return { refused: error.code, message: error.message };
			}
			throw error;
		}
	}

	/** The host node's meeting arrived: this node's copy follows it. */
	fromHost(mirror: MeetingMirror): void {
		const meeting = this.#options.meetings.get(mirror.room);
		if (meeting && !meeting.closed) meeting.follow(mirror);
	}

	/** The room is hosted here now (a copy it was is the room itself): its meeting is its own again. */
	hosted(room: string): void {
		this.#options.meetings.get(room)?.follow(null);
	}

	/** The room served here as a copy has a new host node: it gets this copy's people and waiting room. */
	rehosted(room: string): void {
		this.#reported.delete(room);
		this.#triggers.get(room)?.();
	}

	/** A node is gone: its people leave the meetings hosted here. */
	nodeGone(node: string): void {
		for (const meeting of this.#options.meetings.all.values()) meeting.dropRemote(node);
	}

	/**
	 * Let in or turn away who waits, on every node of the room: here, and (host node of a
	 * spanning room) each other node on its own waiting room. Returns who was decided.
	 */
	async decide(meeting: Meeting, identity: string | null, decision: 'admitted' | 'denied'): Promise<string[]> {
		const { control, spanning } = this.#options;
		const here = decision === 'admitted' ? control.admit(meeting, identity) : control.deny(meeting, identity);
		const span = spanning();
		if (this.mode(meeting.id) !== 'host' || !span || (identity !== null && here.length > 0)) return here;
		const there = await span.moderate({ action: 'decide', room: meeting.id, identity, decision });
		return [...here, ...(there.ids ?? [])];
	}

	/**
	 * Send a change to the host node of a copy's room; its refusal becomes the same error as on
	 * one node. A host node that does not answer (paused, busy, its bus message delayed) is asked
	 * again, to the room's host of the moment, for `HOST_RETRY_MS` (every change is idempotent:
	 * one carried out twice is one); then the answer is `unavailable`, as when the room has no
	 * host node any more (its people are about to be sent to the next one).
	 */
	async toHost(request: Exclude<MeetingRequest, { action: 'report' }>): Promise<MeetingResult> {
		const deadline = Date.now() + HOST_RETRY_MS;
		for (let attempt = 1; ; attempt++) {
			let result: MeetingResult;
			try {
				result = await this.#send(request);
			} catch (err) {
				if (this.mode(request.room) !== 'copy') throw new ProtocolError(ErrorCode.Unavailable, 'the room is moving to another node; retry shortly');
				if (Date.now() >= deadline) {
					this.#log.warn({ err, roomId: request.room, action: request.action, attempt }, 'cascade: the host node did not take a change of the meeting');
					throw new ProtocolError(ErrorCode.Unavailable, 'the room\'s host node does not answer; retry shortly');
				}
				this.#log.info({ err, roomId: request.room, action: request.action, attempt }, 'cascade: the host node did not answer a change of the meeting; asking again');
				await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 1000)));
				continue;
			}
			if (result.refused) throw new ProtocolError(result.refused, result.message ?? 'refused by the host node');
			return result;
		}
	}

	async #send(request: MeetingRequest): Promise<MeetingResult> {
		const span = this.#options.spanning();
		if (!span) throw new Error('no cluster');
		return span.toHost(request);
	}

	/** Report this copy's people to the host node when they changed since the last report it took. */
	async #report(meeting: Meeting): Promise<void> {
		const room = meeting.id;
		const members = meeting.members().map((m) => ({ identity: m.identity, name: m.name, host: m.role === 'host' }));
		const waiting = meeting.waitingList();
		const known = meeting.knownHere().slice(0, 2000);
		const text = JSON.stringify([members, waiting, known]);
		if (text === this.#reported.get(room)) return;
		this.#reported.set(room, text);
		try {
			await this.#send({ action: 'report', room, members, waiting, known });
		} catch (err) {
			if (this.#reported.get(room) === text) this.#reported.delete(room);
			this.#log.warn({ err, roomId: room }, 'cascade: the host node did not take this node\'s people of the meeting');
		}
	}

	async #mirror(meeting: Meeting): Promise<void> {
		const { settings, roles, hands } = meeting.record();
		await this.#options.spanning()?.mirror({ room: meeting.id, settings, roles, hands, members: meeting.state().members, waiting: meeting.waitingView() });
	}
}
