/**
 * Membership and host controls. Entering the meeting makes this connection a member (with
 * its role); every `host:*` request is refused with `forbidden` unless the sender is a
 * host or co-host now (roles are checked at each request: a demoted co-host loses them).
 * In a room spanning nodes, mute, mute-all, ask-to-unmute and remove aimed at people served
 * by another node are sent there (cascade bus `moderate`) once the permission is checked here;
 * on a copy of the room, roles, settings and waiting-list decisions go to the host node's
 * meeting (cluster/SpanMeetings), and ending the meeting ends it on every node.
 */
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { handle } from '../rpc.ts';
import { channels } from '../session.ts';
import type { HandlerContext, SpanView } from './context.ts';

export function registerModerationHandlers(ctx: HandlerContext): void {
	const { socket, session, meeting, control, arrival, span, spanMeeting } = ctx;
	const { room, sub: me, name } = session.claims;

	meeting.addMember(me, name);
	if (meeting.isModerator(me)) {
		void socket.join(channels.hosts(room));
		socket.emit('waiting:list', { people: meeting.waitingView() });
	}
	socket.emit('meeting:you', { role: meeting.roleOf(me), firstInRoom: arrival.firstInRoom });
	socket.emit('meeting:state', meeting.state());
	socket.once('disconnect', (reason) => {
		if (!meeting.closed) meeting.removeMember(me, reason === 'client namespace disconnect');
	});

	const moderator = (): void => {
		if (meeting.closed) throw new ProtocolError(ErrorCode.InvalidState, 'the meeting has ended');
		if (!meeting.isModerator(me)) throw new ProtocolError(ErrorCode.Forbidden, 'only a host can do this');
	};
	const notSelf = (identity: string): void => {
		if (identity === me) throw new ProtocolError(ErrorCode.BadRequest, 'not on yourself');
	};

	/** The room spans nodes and `identity` is not in this node's meeting: the others may have it. */
	const elsewhere = (identity: string): SpanView | null => (span?.spans(room) && !meeting.isMember(identity) ? span : null);
	/** This node serves a copy of the room: changes of the meeting itself are the host node's to make. */
	const copy = spanMeeting?.mode(room) === 'copy' ? spanMeeting : null;

	handle(ctx, 'host:mute', async ({ identity, source }) => {
		moderator();
		const other = elsewhere(identity);
		if (!other) return { affected: await control.mute(meeting, identity, source, name) };
		const done = await other.moderate({ action: 'mute', room, identity, source, by: name });
		if (!done.found) throw new ProtocolError(ErrorCode.NotFound, `no participant ${identity} in this meeting`);
		return { affected: done.affected };
	});

	handle(ctx, 'host:muteAll', async () => {
		moderator();
		const here = await control.muteAll(meeting, me, name);
		const there = span?.spans(room) ? (await span.moderate({ action: 'muteAll', room, except: me, by: name })).affected : 0;
		return { affected: here + there };
	});

	handle(ctx, 'host:askUnmute', async ({ identity }) => {
		moderator();
		notSelf(identity);
		const other = elsewhere(identity);
		if (!other) control.askUnmute(meeting, identity, name);
		else if (!(await other.moderate({ action: 'askUnmute', room, identity, by: name })).found) {
			throw new ProtocolError(ErrorCode.NotFound, `no participant ${identity} in this meeting`);
		}
		return {};
	});

	handle(ctx, 'host:remove', async ({ identity }) => {
		moderator();
		notSelf(identity);
		const other = elsewhere(identity);
		if (other) {
			// Removed there (the revocation, in Redis, keeps them out of every node); nobody there: as on one node.
			const done = await other.moderate({ action: 'remove', room, identity, by: name });
			if (done.refused) throw new ProtocolError(ErrorCode.Forbidden, 'a host cannot be removed by another participant');
			if (done.found) return {};
		}
		await control.remove(room, meeting, identity, name);
		return {};
	});

	handle(ctx, 'host:settings', async (patch) => {
		moderator();
		const settings = copy ? (await copy.toHost({ action: 'settings', room, patch })).settings! : meeting.updateSettings(patch);
		session.log.info({ settings }, 'meeting settings changed');
		return { settings };
	});

	handle(ctx, 'host:setRole', async ({ identity, role }) => {
		moderator();
		if (meeting.roleOf(me) !== 'host') throw new ProtocolError(ErrorCode.Forbidden, 'only a host can change roles');
		notSelf(identity);
		if (copy) await copy.toHost({ action: 'setRole', room, identity, role, by: name });
		else control.setRole(meeting, identity, role, name);
		return {};
	});

	/** Let in or turn away who waits: on every node of a spanning room (through the host node from a copy). */
	const decide = async (target: { identity: string } | { all: true }, decision: 'admitted' | 'denied'): Promise<string[]> => {
		moderator();
		const identity = 'identity' in target ? target.identity : null;
		if (copy) return (await copy.toHost({ action: 'decide', room, identity, decision })).ids ?? [];
		if (spanMeeting) return spanMeeting.decide(meeting, identity, decision);
		return decision === 'admitted' ? control.admit(meeting, identity) : control.deny(meeting, identity);
	};
	handle(ctx, 'host:admit', async (target) => ({ admitted: await decide(target, 'admitted') }));
	handle(ctx, 'host:deny', async (target) => ({ denied: await decide(target, 'denied') }));

	handle(ctx, 'host:end', () => {
		moderator();
		// Answer first: the connection is about to close. The other nodes of a spanning room close it too.
		setImmediate(() => {
			const others = span?.spans(room) ? span.moderate({ action: 'end', room, by: name }) : null;
			control.end(room, meeting, name);
			void others?.catch((err: unknown) => session.log.warn({ err }, 'meeting end not carried out by every node'));
		});
		return {};
	});
}
