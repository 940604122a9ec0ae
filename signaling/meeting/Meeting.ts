/**
 * One meeting's moderation state, independent of sockets and media: settings, who is in
 * (with roles), who waits, raised hands, who a host muted. In memory, per signaling
 * process; the registry drops it a while after the last person left.
 */
import { EventEmitter } from 'node:events';
import type {
	MeetingMember,
	MeetingSettings,
	MeetingState,
	ModeratedSource,
	RaisedHand,
	Role,
	WaitingPerson,
} from '../protocol/index.ts';
import type { Arrival, ArrivalResult, Member, MeetingEvents, MeetingOptions, MeetingRecord, Waiting, WaitingDecision } from './meetingTypes.ts';
import { RemoteMembers, type RemoteMember } from './RemoteMembers.ts';

export type { Arrival, ArrivalResult, MeetingEvents, MeetingOptions, MeetingRecord, WaitingDecision } from './meetingTypes.ts';

export const MeetingLimits = {
	/** People waiting at once in one meeting (more are refused with room_locked). */
	maxWaiting: 200,
} as const;

export class Meeting extends EventEmitter<MeetingEvents> {
	readonly id: string;
	readonly createdAt: number;
	#settings: MeetingSettings;
	readonly #options: MeetingOptions;
	readonly #now: () => number;
	/** Roles by identity, for the life of the meeting (reconnects keep them). */
	readonly #roles = new Map<string, Role>();
	readonly #members = new Map<string, Member>();
	/** Identities admitted through the waiting room or already in: they skip it and the lock on reconnect. */
	readonly #known = new Set<string>();
	readonly #waiting = new Map<string, Waiting>();
	readonly #hands = new Map<string, RaisedHand>();
	/** Sources a host turned off, per identity, that the person may not turn back on by themself. */
	readonly #blocked = new Map<string, Set<ModeratedSource>>();
	#hadHost = false;
	#closed = false;
	/** Host node of a spanning room: who is in and who waits on each other node (their reports). */
	readonly #remote = new RemoteMembers();
	/** A copy of a spanning room: who is in and who waits on every node, as the host node sees it. */
	#mirror: { members: MeetingMember[]; waiting: WaitingPerson[] } | null = null;
	/** Came with a host token here: host whatever the host node's mirror says. */
	readonly #tokenHosts = new Set<string>();

	constructor(id: string, options: MeetingOptions) {
		super();
		this.id = id;
		this.#options = options;
		this.#now = options.now ?? Date.now;
		this.#settings = { ...options.defaults };
		this.createdAt = this.#now();
	}

	get closed(): boolean {
		return this.#closed;
	}

	get settings(): Readonly<MeetingSettings> {
		return this.#settings;
	}

	get idle(): boolean {
		return this.#members.size === 0 && this.#waiting.size === 0 && this.#remote.size === 0;
	}

	roleOf(identity: string): Role {
		return this.#roles.get(identity) ?? 'participant';
	}

	isModerator(identity: string): boolean {
		const role = this.roleOf(identity);
		return role === 'host' || role === 'cohost';
	}

	isMember(identity: string): boolean {
		return this.#members.has(identity);
	}

	/** In the meeting on this node or (host node of a spanning room) on another node. */
	inMeeting(identity: string): boolean {
		return this.#members.has(identity) || this.#remote.name(identity) !== undefined;
	}

	/** May this identity connect now? Locked meetings take hosts and people already in only. */
	mayEnter(identity: string, tokenRole: 'host' | 'participant'): boolean {
		if (!this.#settings.locked) return true;
		if (tokenRole === 'host' || this.isModerator(identity)) return true;
		return this.#isKnown(identity);
	}

	/**
	 * Would this identity go straight in now (not locked out, not to the waiting room)? The
	 * lobby may see the meeting's media only then (media prepared before the join).
	 */
	admitsDirectly(identity: string, tokenRole: 'host' | 'participant', skipWaitingRoom: boolean): boolean {
		if (!this.mayEnter(identity, tokenRole)) return false;
		if (tokenRole === 'host' || this.roleOf(identity) !== 'participant') return true;
		return !this.#settings.waitingRoom || skipWaitingRoom || this.#isKnown(identity);
	}

	/** A connection arrives (after the handshake): decide its role and whether it waits. */
	arrive(a: Arrival): ArrivalResult {
		this.#assertOpen();
		let firstInRoom = false;
		if (a.tokenRole === 'host') {
			this.#roles.set(a.identity, 'host');
			this.#tokenHosts.add(a.identity);
		}
		else if (this.#options.firstIsHost && !this.#hadHost && this.#members.size === 0) {
			this.#roles.set(a.identity, 'host');
			firstInRoom = true;
		}
		const role = this.roleOf(a.identity);
		if (role !== 'participant' && !this.#hadHost) {
			this.#hadHost = true;
			this.emit('recordchange');
		}
		const waiting =
			this.#settings.waitingRoom && role === 'participant' && !a.skipWaitingRoom && !this.#isKnown(a.identity);
		return { role, firstInRoom, waiting };
	}

	/** Put a connection in the waiting room; `listener` hears the host's decision. Returns a cancel. */
	wait(identity: string, name: string, listener: (decision: WaitingDecision) => void): () => void {
		this.#assertOpen();
		let entry = this.#waiting.get(identity);
		if (!entry) {
			if (this.#waiting.size >= MeetingLimits.maxWaiting) throw new Error('waiting room full');
			entry = { name, since: this.#now(), listeners: new Set() };
			this.#waiting.set(identity, entry);
		}
		entry.name = name;
		entry.listeners.add(listener);
		this.emit('waitingchange');
		const own = entry;
		return () => {
			own.listeners.delete(listener);
			if (own.listeners.size === 0 && this.#waiting.get(identity) === own) {
				this.#waiting.delete(identity);
				this.emit('waitingchange');
				this.#checkIdle();
			}
		};
	}

	waitingList(): WaitingPerson[] {
		return [...this.#waiting].map(([identity, w]) => ({ identity, name: w.name, since: w.since }));
	}

	/** Decide for one waiting identity, or everyone (`null`). Returns who was decided. */
	decide(identity: string | null, decision: WaitingDecision): string[] {
		const ids = identity === null ? [...this.#waiting.keys()] : this.#waiting.has(identity) ? [identity] : [];
		for (const id of ids) {
			const entry = this.#waiting.get(id)!;
			this.#waiting.delete(id);
			if (decision === 'admitted') this.#known.add(id);
			for (const listener of entry.listeners) listener(decision);
		}
		if (ids.length) {
			if (decision === 'admitted') this.emit('recordchange');
			this.emit('waitingchange');
			this.#checkIdle();
		}
		return ids;
	}

	/** A connection of this identity is in the meeting (admitted). */
	addMember(identity: string, name: string): void {
		this.#assertOpen();
		const member = this.#members.get(identity);
		if (!this.#known.has(identity)) {
			this.#known.add(identity);
			this.emit('recordchange');
		}
		if (member) {
			member.sockets++;
			member.name = name;
			return;
		}
		this.#members.set(identity, { name, sockets: 1 });
		this.emit('memberjoined', identity, name);
		this.emit('change');
	}

	/** A connection of this identity left; `leaving`: on purpose (they are no longer "known"). */
	removeMember(identity: string, leaving: boolean): void {
		const member = this.#members.get(identity);
		if (!member) return;
		member.sockets--;
		if (member.sockets > 0) return;
		this.#members.delete(identity);
		// A dropped connection that comes back keeps its place in the hand queue.
		if (leaving) {
			this.#known.delete(identity);
			this.#hands.delete(identity);
			this.emit('recordchange');
		}
		this.emit('memberleft', identity, member.name);
		this.emit('change');
		this.#checkIdle();
	}

	/** Forget an identity entirely (removed by a host). */
	forget(identity: string): void {
		this.#known.delete(identity);
		this.#blocked.delete(identity);
		this.#hands.delete(identity);
		if (this.#roles.get(identity) !== 'host') this.#roles.delete(identity);
		this.emit('recordchange');
	}

	setRole(identity: string, role: 'cohost' | 'participant'): void {
		if (this.#roles.get(identity) === 'host') throw new Error('a host stays host');
		if (role === 'participant') this.#roles.delete(identity);
		else this.#roles.set(identity, role);
		this.emit('rolechange', identity, role);
		this.emit('recordchange');
		this.emit('change');
	}

	updateSettings(patch: Partial<MeetingSettings>): MeetingSettings {
		const next = { ...this.#settings };
		for (const key of ['locked', 'waitingRoom', 'allowSelfUnmute'] as const) {
			const value = patch[key];
			if (value !== undefined) next[key] = value;
		}
		const changed = JSON.stringify(next) !== JSON.stringify(this.#settings);
		this.#settings = next;
		if (changed) {
			this.emit('recordchange');
			this.emit('change');
		}
		return next;
	}

	raiseHand(identity: string): boolean {
		const name = this.#members.get(identity)?.name ?? this.#remote.name(identity);
		if (name === undefined || this.#hands.has(identity)) return false;
		const hand = { identity, name, raisedAt: this.#now() };
		this.#hands.set(identity, hand);
		this.emit('recordchange');
		this.emit('handraised', hand);
		this.emit('change');
		return true;
	}

	lowerHand(identity: string): boolean {
		if (!this.#hands.delete(identity)) return false;
		this.emit('recordchange');
		this.emit('change');
		return true;
	}

	/** A host turned a source off; with self-unmute off, the person may not turn it back on. */
	block(identity: string, source: ModeratedSource): void {
		if (this.#settings.allowSelfUnmute) return;
		let set = this.#blocked.get(identity);
		if (!set) this.#blocked.set(identity, (set = new Set()));
		set.add(source);
		this.emit('recordchange');
	}

	/** A host asked this person to unmute: whatever was blocked is allowed again. */
	unblock(identity: string): void {
		if (this.#blocked.delete(identity)) this.emit('recordchange');
	}

	/** What outlives this process (see MeetingRecord). */
	record(): MeetingRecord {
		return {
			settings: { ...this.#settings },
			roles: [...this.#roles],
			// With who the other nodes of a spanning room let in: after a failover they do not wait again.
			known: [...new Set([...this.#known, ...this.#remote.known()])],
			hands: [...this.#hands.values()],
			blocked: [...this.#blocked].map(([identity, set]) => [identity, [...set]]),
			hadHost: this.#hadHost,
		};
	}

	/** Take over a record written by the room's previous host (before anyone arrives here). */
	restore(record: MeetingRecord): void {
		this.#settings = { ...this.#settings, ...record.settings };
		for (const [identity, role] of record.roles) this.#roles.set(identity, role);
		for (const identity of record.known) this.#known.add(identity);
		for (const hand of record.hands) this.#hands.set(hand.identity, hand);
		for (const [identity, sources] of record.blocked) this.#blocked.set(identity, new Set(sources));
		this.#hadHost ||= record.hadHost;
	}

	isBlocked(identity: string, source: ModeratedSource): boolean {
		return this.#blocked.get(identity)?.has(source) ?? false;
	}

	members(): MeetingMember[] {
		return [...this.#members].map(([identity, m]) => ({ identity, name: m.name, role: this.roleOf(identity) }));
	}

	/** What everyone admitted sees: on a copy of a spanning room, the host node's meeting. */
	state(): MeetingState {
		const hands = [...this.#hands.values()].filter((h) => this.inMeeting(h.identity));
		if (this.#mirror) return { settings: { ...this.#settings }, members: this.#mirror.members, hands };
		const members = this.members();
		const here = new Set(members.map((m) => m.identity));
		for (const [identity, name] of this.#remote.members()) if (!here.has(identity)) here.add(identity), members.push({ identity, name, role: this.roleOf(identity) });
		return { settings: { ...this.#settings }, members, hands };
	}

	/** Who waits, as hosts see it: on every node of a spanning room (this node's `waitingList()` and the others'). */
	waitingView(): WaitingPerson[] {
		if (this.#mirror) return this.#mirror.waiting;
		return [...this.waitingList(), ...this.#remote.waiting()].sort((a, b) => a.since - b.since);
	}

	/** Who this node's meeting let in (admitted or in), for the host node of a spanning room. */
	knownHere(): string[] {
		return [...this.#known];
	}

	/** Host node of a spanning room: who is in (`host`: with a host token), who waits and who was let in on `node`, its whole lists. */
	setRemote(node: string, members: RemoteMember[], waiting: WaitingPerson[], known: readonly string[] = []): void {
		for (const m of members) if (m.host && this.#roles.get(m.identity) !== 'host') this.#roles.set(m.identity, 'host'), this.emit('recordchange');
		if (this.#remote.set(node, members, waiting, known)) this.emit('recordchange');
		this.emit('change');
		this.emit('waitingchange');
		this.#checkIdle();
	}

	/** A node of a spanning room is gone (or no longer serves it): its people are no longer in. */
	dropRemote(node: string): void {
		if (!this.#remote.drop(node)) return;
		this.emit('change');
		this.emit('waitingchange');
		this.#checkIdle();
	}

	/** A copy of a spanning room follows the host node's meeting (null: this node hosts the room now). */
	follow(m: { settings: MeetingSettings; roles: [string, Role][]; hands: RaisedHand[]; members: MeetingMember[]; waiting: WaitingPerson[] } | null): void {
		this.#mirror = m && { members: m.members, waiting: m.waiting };
		if (!m) return;
		this.#settings = { ...m.settings };
		const before = new Map(this.#roles);
		this.#roles.clear();
		for (const [identity, role] of m.roles) this.#roles.set(identity, role);
		for (const identity of this.#tokenHosts) this.#roles.set(identity, 'host');
		this.#hands.clear();
		for (const hand of m.hands) this.#hands.set(hand.identity, hand);
		for (const identity of this.#members.keys()) {
			const role = this.roleOf(identity);
			if ((before.get(identity) ?? 'participant') !== role) this.emit('rolechange', identity, role);
		}
		this.emit('change');
		this.emit('waitingchange');
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		const waiting = [...this.#waiting.values()];
		this.#waiting.clear();
		for (const w of waiting) for (const listener of w.listeners) listener('denied');
		this.emit('close');
		this.removeAllListeners();
	}

	#isKnown(identity: string): boolean {
		return this.#known.has(identity) || this.#remote.isKnown(identity);
	}

	#checkIdle(): void {
		if (this.idle && !this.#closed) this.emit('idle');
	}

	#assertOpen(): void {
		if (this.#closed) throw new Error(`meeting ${this.id} is closed`);
	}
}
