/** What a Meeting takes and tells (arrivals, events, options, its record) and what it keeps per person (Meeting.ts). */
import type { MeetingSettings, ModeratedSource, RaisedHand, Role } from '../protocol/index.ts';

export interface Arrival {
	identity: string;
	name: string;
	/** The role the token carries. */
	tokenRole: 'host' | 'participant';
	/** The token lets this person skip the waiting room. */
	skipWaitingRoom: boolean;
}

export interface ArrivalResult {
	role: Role;
	/** Made host for being the first to enter a new room (dev mode). */
	firstInRoom: boolean;
	/** Must wait in the waiting room until a host admits them. */
	waiting: boolean;
}

/** What a waiting connection is told when a host decides. */
export type WaitingDecision = 'admitted' | 'denied';

/** An identity in the meeting here (Meeting's members): its name, and how many connections it has in. */
export interface Member {
	name: string;
	sockets: number;
}

/** An identity in the waiting room here: who hears the host's decision (each of its connections). */
export interface Waiting {
	name: string;
	since: number;
	listeners: Set<(decision: WaitingDecision) => void>;
}

export type MeetingEvents = {
	/** Settings, members, roles or hands changed. */
	change: [];
	/** The waiting list changed. */
	waitingchange: [];
	/** Someone's role changed. */
	rolechange: [identity: string, role: Role];
	/** Someone entered (first connection of an identity) or left (its last one). */
	memberjoined: [identity: string, name: string];
	memberleft: [identity: string, name: string];
	/** A hand went up. */
	handraised: [hand: RaisedHand];
	/** Nobody is in or waiting any more. */
	idle: [];
	/** What `record()` returns changed (settings, roles, admitted people, hands, blocks). */
	recordchange: [];
	close: [];
};

export interface MeetingOptions {
	defaults: MeetingSettings;
	/** Dev mode: the first person to enter a new room is its host. */
	firstIsHost: boolean;
	now?: () => number;
}

/** The part of a meeting that outlives its node (kept in Redis in a cluster, read by the next host). */
export interface MeetingRecord {
	settings: MeetingSettings;
	roles: [identity: string, role: Role][];
	/** Admitted or already in: they skip the waiting room and the lock. */
	known: string[];
	hands: RaisedHand[];
	blocked: [identity: string, sources: ModeratedSource[]][];
	hadHost: boolean;
}
