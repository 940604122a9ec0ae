/**
 * Running a meeting: roles, host controls, the waiting room, raised hands and reactions.
 * Every host request is checked on the server (a participant gets `forbidden`); clients
 * only reflect the state they are sent (`meeting:state`, `waiting:list`).
 */
import { z } from 'zod';
import { IdentitySchema as Identity } from './identifiers.ts';

/**
 * host: may moderate (token role `host`, or the first to enter a new room in dev mode);
 * cohost: may moderate, made by a host at run time; participant: everyone else.
 */
export const RoleSchema = z.enum(['host', 'cohost', 'participant']);
export type Role = z.infer<typeof RoleSchema>;

/** The emoji reactions a participant may send (a closed set: nobody floods tiles with text). */
export const REACTIONS = ['👍', '👏', '❤️', '😂', '😮', '🎉'] as const;
export type Reaction = (typeof REACTIONS)[number];

/** What a host can turn off for someone else. Screen also stops the screen's audio. */
export const ModeratedSourceSchema = z.enum(['microphone', 'camera', 'screen']);
export type ModeratedSource = z.infer<typeof ModeratedSourceSchema>;

export interface MeetingSettings {
	/** No new joiners (hosts and people already in the meeting excepted). */
	locked: boolean;
	/** Newcomers wait until a host admits them (hosts and tokens with `skipWaitingRoom` excepted). */
	waitingRoom: boolean;
	/**
	 * Whether people a host muted may turn their microphone/camera back on themselves.
	 * false ("hosts must allow unmuting"): they stay muted until a host asks them to unmute.
	 */
	allowSelfUnmute: boolean;
}

export const MeetingSettingsSchema = z.strictObject({
	locked: z.boolean().optional(),
	waitingRoom: z.boolean().optional(),
	allowSelfUnmute: z.boolean().optional(),
});

export interface RaisedHand {
	identity: string;
	name: string;
	/** ms since the epoch; hands are listed in the order they went up. */
	raisedAt: number;
}

export interface MeetingMember {
	identity: string;
	name: string;
	role: Role;
}

/** The meeting as everyone admitted sees it; sent on admission and after every change. */
export interface MeetingState {
	settings: MeetingSettings;
	/** Everyone admitted and connected, with their role. */
	members: MeetingMember[];
	hands: RaisedHand[];
}

export interface WaitingPerson {
	identity: string;
	name: string;
	since: number;
}

const Target = z.strictObject({ identity: Identity });
/** One person, or everyone waiting. */
const WaitingTarget = z.union([z.strictObject({ identity: Identity }), z.strictObject({ all: z.literal(true) })]);

export const meetingRequestSchemas = {
	/** Host: mute a microphone (pause) or stop a camera / screen share (close). */
	'host:mute': z.strictObject({ identity: Identity, source: ModeratedSourceSchema }),
	/** Host: mute every microphone but the host's own. */
	'host:muteAll': z.strictObject({}),
	/** Host: ask someone to unmute (and allow it when hosts must allow unmuting). */
	'host:askUnmute': Target,
	/** Host: remove someone; that identity cannot come back into this meeting. */
	'host:remove': Target,
	/** Host: change the meeting's settings (lock, waiting room, self-unmute). */
	'host:settings': MeetingSettingsSchema,
	/** Host (not co-host): make someone a co-host, or a participant again. */
	'host:setRole': z.strictObject({ identity: Identity, role: z.enum(['cohost', 'participant']) }),
	/** Host: let people in from the waiting room, or turn them away. */
	'host:admit': WaitingTarget,
	'host:deny': WaitingTarget,
	/** Host: end the meeting for everyone. */
	'host:end': z.strictObject({}),
	/** Anyone: raise or lower their own hand; a host may lower someone else's. */
	'hand:raise': z.strictObject({}),
	'hand:lower': z.strictObject({ identity: Identity.optional() }),
	'reaction:send': z.strictObject({ emoji: z.enum(REACTIONS) }),
} as const;

type Empty = Record<string, never>;

export interface MeetingResponseMap {
	'host:mute': { affected: number };
	'host:muteAll': { affected: number };
	'host:askUnmute': Empty;
	'host:remove': Empty;
	'host:settings': { settings: MeetingSettings };
	'host:setRole': Empty;
	'host:admit': { admitted: string[] };
	'host:deny': { denied: string[] };
	'host:end': Empty;
	'hand:raise': Empty;
	'hand:lower': Empty;
	'reaction:send': Empty;
}

/** Why the server turned something of yours off, or asks something of you. */
export type ModerationNotice =
	| { kind: 'muted'; source: ModeratedSource; by: string; mayUnmute: boolean }
	| { kind: 'ask-unmute'; by: string }
	| { kind: 'hand-lowered'; by: string }
	| { kind: 'role'; role: Role; by: string };

export interface MeetingNotificationMap {
	/** The meeting's settings, members with roles, raised hands (after every change). */
	'meeting:state': MeetingState;
	/** To this participant only: what a host did to them. */
	'moderation:notice': ModerationNotice;
	/** To hosts: who is waiting to be let in, oldest first. */
	'waiting:list': { people: WaitingPerson[] };
	/** To a person in the waiting room: still waiting, let in, or turned away. */
	'waiting:status': { state: 'waiting' | 'admitted' | 'denied' };
	reaction: { identity: string; emoji: Reaction; at: number };
	/** To this participant: their role (on entering, and when a host changes it). */
	'meeting:you': { role: Role; firstInRoom: boolean };
}
