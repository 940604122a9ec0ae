/**
 * What nodes of a spanning room tell each other about its meeting (over the cascade bus,
 * validated with zod on arrival). The room's host node holds the one true meeting:
 *   - `moderate` (any node → every other node of the room): a host control checked on the
 *     asking node, carried out by each node on its own people (mute, remove, ask to unmute,
 *     admit or deny who waits there, end the meeting);
 *   - `meeting` (a copy → the host node): who is in and who waits on the copy (`report`,
 *     its whole list each time), and the changes that belong to the host's meeting (a hand,
 *     a role, the settings, a decision on the merged waiting list);
 *   - `mirror` (the host node → its copies): the host's meeting as it is now (settings, roles,
 *     hands, who is in on every node, the merged waiting list), applied by each copy.
 */
import { z } from 'zod';
import { MeetingSettingsSchema, ModeratedSourceSchema, RoleSchema } from '../protocol/meeting.ts';

const id = z.string().min(1).max(128);
const name = z.string().max(256);
const room = id;

export const moderateSchema = z.discriminatedUnion('action', [
	z.object({ action: z.literal('mute'), room, identity: id, source: ModeratedSourceSchema, by: name }),
	z.object({ action: z.literal('muteAll'), room, except: id, by: name }),
	z.object({ action: z.literal('remove'), room, identity: id, by: name }),
	z.object({ action: z.literal('askUnmute'), room, identity: id, by: name }),
	/** Let in (or turn away) who waits on the answering node: one identity, or all (null). */
	z.object({ action: z.literal('decide'), room, identity: id.nullable(), decision: z.enum(['admitted', 'denied']) }),
	z.object({ action: z.literal('end'), room, by: name }),
]);
export type ModerateRequest = z.infer<typeof moderateSchema>;
export const moderateResultSchema = z.object({
	/** The target is a member of the meeting on the answering node. */
	found: z.boolean(),
	affected: z.number().int().min(0).max(100_000),
	/** Refused there (a host cannot be removed by another participant). */
	refused: z.enum(['forbidden']).optional(),
	/** Who was let in or turned away there (`decide`). */
	ids: z.array(id).max(1000).optional(),
});
export type ModerateResult = z.infer<typeof moderateResultSchema>;

const waitingPerson = z.object({ identity: id, name, since: z.number() });
const hand = z.object({ identity: id, name, raisedAt: z.number() });
const settings = z.object({ locked: z.boolean(), waitingRoom: z.boolean(), allowSelfUnmute: z.boolean() });

export const meetingRequestSchema = z.discriminatedUnion('action', [
	/** Who is in the meeting on the asking copy (`host`: came with a host token) and who waits there. */
	z.object({
		action: z.literal('report'),
		room,
		members: z.array(z.object({ identity: id, name, host: z.boolean() })).max(1000),
		waiting: z.array(waitingPerson).max(200),
		/** Who the copy's meeting let in (admitted there, or in): in the host's record, they skip the waiting room after a failover. */
		known: z.array(id).max(2000).optional(),
	}),
	/** A hand up or down (`by`: a host lowering someone else's). */
	z.object({ action: z.literal('hand'), room, identity: id, raised: z.boolean(), by: name.nullable() }),
	z.object({ action: z.literal('setRole'), room, identity: id, role: z.enum(['cohost', 'participant']), by: name }),
	z.object({ action: z.literal('settings'), room, patch: MeetingSettingsSchema }),
	z.object({ action: z.literal('decide'), room, identity: id.nullable(), decision: z.enum(['admitted', 'denied']) }),
]);
export type MeetingRequest = z.infer<typeof meetingRequestSchema>;
export const meetingResultSchema = z.object({
	/** Why the host node refused (the same codes as on one node). */
	refused: z.enum(['not_found', 'invalid_state', 'forbidden']).optional(),
	message: z.string().max(500).optional(),
	settings: settings.optional(),
	ids: z.array(id).max(1000).optional(),
});
export type MeetingResult = z.infer<typeof meetingResultSchema>;

/** (from a node that just claimed the room) I host the room now: link your copy to me. */
export const rehostSchema = z.object({ room });

export const mirrorSchema = z.object({
	room,
	settings,
	roles: z.array(z.tuple([id, RoleSchema])).max(2000),
	hands: z.array(hand).max(1000),
	members: z.array(z.object({ identity: id, name, role: RoleSchema })).max(2000),
	waiting: z.array(waitingPerson).max(1000),
});
export type MeetingMirror = z.infer<typeof mirrorSchema>;
