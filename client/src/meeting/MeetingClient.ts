/**
 * The meeting as this participant sees it: role, settings, members, raised hands, the
 * waiting list (hosts), reactions and notices, plus the requests to act on it. Listens on
 * the call's own Socket.IO socket; it must be created before the socket connects (the
 * server says "you wait" or "you are in" right on connection).
 *
 * React reads it through subscribe()/getSnapshot() (useSyncExternalStore).
 */
import type { Socket } from 'socket.io-client';
import {
	emitWithAck,
	type ClientToServerEvents,
	type MeetingSettings,
	type MeetingState,
	type ModeratedSource,
	type ModerationNotice,
	type Reaction,
	type RecordingState,
	type RecordingStopReason,
	type RequestName,
	type RequestPayload,
	type Result,
	type ResponseData,
	type Role,
	type ServerToClientEvents,
	type WaitingPerson,
} from '../../../signaling/protocol/index.ts';

type MeetingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** unknown: not told yet on this connection; waiting: in the waiting room; admitted: in. */
export type Admission = 'unknown' | 'waiting' | 'admitted' | 'denied';

export interface MeetingToast {
	id: number;
	kind: 'info' | 'warning';
	text: string;
	/** An action the toast offers (e.g. unmute when a host asks). */
	action?: 'unmute';
}

export interface MeetingSnapshot {
	admission: Admission;
	role: Role;
	firstInRoom: boolean;
	state: MeetingState;
	/** Hosts only: who waits to be let in. */
	waiting: readonly WaitingPerson[];
	/** The latest reaction of each identity, while it shows. */
	reactions: ReadonlyMap<string, Reaction>;
	toasts: readonly MeetingToast[];
	/** Whether the meeting is being recorded (told on arrival, in the waiting room too, and on every change). */
	recording: RecordingState;
}

const REACTION_MS = 4000;
const TOAST_MS = 6000;
/** What a stopped recording's toast says beyond "Recording stopped" (a host's stop needs no reason). */
const STOP_REASONS: Partial<Record<RecordingStopReason, string>> = {
	'disk-full': 'the server is running out of disk space (what was recorded is kept).',
	'size-limit': 'it reached the size limit for one recording (what was recorded is kept).',
	'server-shutdown': 'the server is shutting down.',
};
const EMPTY_STATE: MeetingState = { settings: { locked: false, waitingRoom: false, allowSelfUnmute: true }, members: [], hands: [] };

export class MeetingError extends Error {
	readonly code: string;
	constructor(code: string, message: string) {
		super(message);
		this.name = 'MeetingError';
		this.code = code;
	}
}

export class MeetingClient {
	readonly #socket: MeetingSocket;
	readonly #identity: string;
	readonly #listeners = new Set<() => void>();
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	#snapshot: MeetingSnapshot;
	#admitted: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
	#toastId = 0;
	#closed = false;
	/** A recording state arrived on this client already (later ones are changes). */
	#told = false;
	/** What a host did to this participant's media, for the call to apply locally. */
	onMuted: ((source: ModeratedSource) => void) | null = null;
	/** A host turned this person away from the waiting room. */
	onDenied: ((message: string) => void) | null = null;

	constructor(socket: MeetingSocket, identity: string) {
		this.#socket = socket;
		this.#identity = identity;
		this.#snapshot = {
			admission: 'unknown',
			role: 'participant',
			firstInRoom: false,
			state: EMPTY_STATE,
			waiting: [],
			reactions: new Map(),
			toasts: [],
			recording: { active: false, startedAt: null, id: null },
		};
		this.#admitted = deferred();
		socket.on('connect', () => {
			// A new connection is admitted (or told to wait) afresh.
			if (this.#snapshot.admission !== 'unknown' && this.#snapshot.admission !== 'denied') {
				this.#admitted = deferred();
				this.#set({ admission: 'unknown' });
			}
		});
		socket.on('meeting:you', ({ role, firstInRoom }) => {
			const before = this.#snapshot.role;
			this.#set({ role, firstInRoom: firstInRoom || this.#snapshot.firstInRoom, admission: 'admitted' });
			this.#admitted.resolve();
			if (firstInRoom) this.#toast('info', 'You are the host of this meeting: you were the first to arrive.');
			else if (before !== role && this.#snapshot.state.members.length > 0) {
				this.#toast('info', role === 'participant' ? 'You are no longer a co-host.' : `You are now a ${role === 'cohost' ? 'co-host' : 'host'}.`);
			}
		});
		socket.on('meeting:state', (state) => this.#onState(state));
		socket.on('waiting:list', ({ people }) => {
			const known = new Set(this.#snapshot.waiting.map((p) => p.identity));
			const fresh = people.filter((p) => !known.has(p.identity));
			this.#set({ waiting: people });
			for (const p of fresh) this.#toast('info', `${p.name} is waiting to join.`);
		});
		socket.on('waiting:status', ({ state }) => {
			if (state === 'waiting') this.#set({ admission: 'waiting' });
			else if (state === 'admitted') this.#set({ admission: 'admitted' });
			else {
				const message = 'A host did not let you into this meeting.';
				this.#set({ admission: 'denied' });
				this.onDenied?.(message);
				this.#admitted.reject(new MeetingError('denied', message));
			}
		});
		socket.on('moderation:notice', (notice) => this.#onNotice(notice));
		socket.on('recording:state', (recording) => {
			const was = this.#snapshot.recording;
			this.#set({ recording });
			// The first state on a connection is not news (the indicator shows it); changes are.
			if (recording.active && !was.active && this.#told) this.#toast('warning', 'This meeting is now being recorded.');
			else if (!recording.active && was.active) {
				const why = recording.stopReason ? STOP_REASONS[recording.stopReason] : undefined;
				this.#toast(why ? 'warning' : 'info', why ? `Recording stopped: ${why}` : 'Recording stopped.');
			}
			this.#told = true;
		});
		// Hosts only: someone's track is not in the running recording.
		socket.on('recording:problem', ({ name, source, reason }) => this.#toast('warning', `${name}'s ${source} is not being recorded: ${reason}.`));
		socket.on('reaction', ({ identity, emoji }) => {
			const reactions = new Map(this.#snapshot.reactions);
			reactions.set(identity, emoji);
			this.#set({ reactions });
			this.#later(REACTION_MS, () => {
				if (this.#snapshot.reactions.get(identity) !== emoji) return;
				const next = new Map(this.#snapshot.reactions);
				next.delete(identity);
				this.#set({ reactions: next });
			});
		});
	}

	get identity(): string {
		return this.#identity;
	}

	/** Resolves once this connection is in the meeting; rejects if a host turns it away. */
	admitted(): Promise<void> {
		return this.#admitted.promise;
	}

	subscribe = (listener: () => void): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};

	getSnapshot = (): MeetingSnapshot => this.#snapshot;

	get isModerator(): boolean {
		return this.#snapshot.role !== 'participant';
	}

	// ---- Requests --------------------------------------------------------------------

	raiseHand = (): Promise<void> => this.#request('hand:raise', {});
	lowerHand = (identity?: string): Promise<void> => this.#request('hand:lower', identity ? { identity } : {});
	react = (emoji: Reaction): Promise<void> => this.#request('reaction:send', { emoji });
	mute = (identity: string, source: ModeratedSource): Promise<void> => this.#request('host:mute', { identity, source });
	muteAll = (): Promise<void> => this.#request('host:muteAll', {});
	askUnmute = (identity: string): Promise<void> => this.#request('host:askUnmute', { identity });
	remove = (identity: string): Promise<void> => this.#request('host:remove', { identity });
	setRole = (identity: string, role: 'cohost' | 'participant'): Promise<void> => this.#request('host:setRole', { identity, role });
	updateSettings = (settings: Partial<MeetingSettings>): Promise<void> => this.#request('host:settings', settings);
	admit = (identity: string | null): Promise<void> => this.#request('host:admit', identity ? { identity } : { all: true });
	deny = (identity: string | null): Promise<void> => this.#request('host:deny', identity ? { identity } : { all: true });
	endMeeting = (): Promise<void> => this.#request('host:end', {});
	startRecording = (): Promise<void> => this.#request('recording:start', {});
	stopRecording = (): Promise<void> => this.#request('recording:stop', {});

	dismissToast(id: number): void {
		this.#set({ toasts: this.#snapshot.toasts.filter((t) => t.id !== id) });
	}

	close(): void {
		this.#closed = true;
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.#listeners.clear();
	}

	// ---- Internals -------------------------------------------------------------------

	async #request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<void> {
		const result: Result<ResponseData<K>> = await emitWithAck(this.#socket, name, payload);
		if (!result.ok) {
			this.#toast('warning', result.error.message);
			throw new MeetingError(result.error.code, result.error.message);
		}
	}

	#onState(state: MeetingState): void {
		const before = this.#snapshot.state.members;
		const hadState = before.length > 0;
		this.#set({ state });
		if (!hadState) return;
		const old = new Set(before.map((m) => m.identity));
		const now = new Set(state.members.map((m) => m.identity));
		for (const m of state.members) if (!old.has(m.identity) && m.identity !== this.#identity) this.#toast('info', `${m.name} joined.`);
		for (const m of before) if (!now.has(m.identity)) this.#toast('info', `${m.name} left.`);
	}

	#onNotice(notice: ModerationNotice): void {
		switch (notice.kind) {
			case 'muted': {
				const what = notice.source === 'microphone' ? 'muted your microphone' : notice.source === 'camera' ? 'turned your camera off' : 'stopped your screen share';
				const after = notice.mayUnmute ? '' : ' You can turn it back on when a host asks you to.';
				this.#toast('warning', `${notice.by} ${what}.${after}`);
				this.onMuted?.(notice.source);
				break;
			}
			case 'ask-unmute':
				this.#toast('info', `${notice.by} asks you to unmute.`, 'unmute');
				break;
			case 'hand-lowered':
				this.#toast('info', `${notice.by} lowered your hand.`);
				break;
			case 'role':
				break; // meeting:you follows with the new role
		}
	}

	#toast(kind: MeetingToast['kind'], text: string, action?: MeetingToast['action']): void {
		const id = ++this.#toastId;
		const toast: MeetingToast = action ? { id, kind, text, action } : { id, kind, text };
		this.#set({ toasts: [...this.#snapshot.toasts.slice(-3), toast] });
		this.#later(action ? TOAST_MS * 2 : TOAST_MS, () => this.dismissToast(id));
	}

	#later(ms: number, fn: () => void): void {
		const timer = setTimeout(() => {
			this.#timers.delete(timer);
			if (!this.#closed) fn();
		}, ms);
		this.#timers.add(timer);
	}

	#set(patch: Partial<MeetingSnapshot>): void {
		if (this.#closed) return;
		this.#snapshot = { ...this.#snapshot, ...patch };
		for (const listener of this.#listeners) listener();
	}
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
	let resolve!: () => void;
	let reject!: (e: Error) => void;
	const promise = new Promise<void>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	promise.catch(() => {});
	return { promise, resolve, reject };
}
