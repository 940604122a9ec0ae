/**
 * The meetings of this signaling process, by room. A meeting is created when the first
 * connection for its room arrives and dropped `emptyTimeoutMs` after nobody is in or
 * waiting (or at once when a host ends it).
 */
import { EventEmitter } from 'node:events';
import type { MeetingSettings } from '../protocol/index.ts';
import { Meeting } from './Meeting.ts';

export interface MeetingRegistryOptions {
	defaults: MeetingSettings;
	firstIsHost: boolean;
	emptyTimeoutMs: number;
}

export type MeetingRegistryEvents = {
	/** A meeting was created (bind its events before anyone arrives). */
	created: [meeting: Meeting];
	/** A meeting was dropped (empty for a while, or ended). */
	closed: [meeting: Meeting];
};

export class MeetingRegistry extends EventEmitter<MeetingRegistryEvents> {
	readonly #meetings = new Map<string, Meeting>();
	readonly #timers = new Map<string, NodeJS.Timeout>();
	readonly #options: MeetingRegistryOptions;

	constructor(options: MeetingRegistryOptions) {
		super();
		this.#options = options;
	}

	get(room: string): Meeting | undefined {
		return this.#meetings.get(room);
	}

	get all(): ReadonlyMap<string, Meeting> {
		return this.#meetings;
	}

	getOrCreate(room: string): Meeting {
		const existing = this.#meetings.get(room);
		if (existing) {
			this.#cancelDrop(room);
			return existing;
		}
		const meeting = new Meeting(room, { defaults: this.#options.defaults, firstIsHost: this.#options.firstIsHost });
		this.#meetings.set(room, meeting);
		meeting.on('idle', () => this.#scheduleDrop(meeting));
		meeting.once('close', () => {
			this.#cancelDrop(room);
			if (this.#meetings.get(room) === meeting) this.#meetings.delete(room);
			this.emit('closed', meeting);
		});
		this.emit('created', meeting);
		return meeting;
	}

	close(): void {
		for (const meeting of [...this.#meetings.values()]) meeting.close();
	}

	#scheduleDrop(meeting: Meeting): void {
		this.#cancelDrop(meeting.id);
		const timer = setTimeout(() => {
			this.#timers.delete(meeting.id);
			if (meeting.idle) meeting.close();
		}, this.#options.emptyTimeoutMs);
		timer.unref();
		this.#timers.set(meeting.id, timer);
	}

	#cancelDrop(room: string): void {
		clearTimeout(this.#timers.get(room));
		this.#timers.delete(room);
	}
}
