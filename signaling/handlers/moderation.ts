/**
 * Membership and host controls. Entering the meeting makes this connection a member (with
 * its role); every `host:*` request is refused with `forbidden` unless the sender is a
 * host or co-host now (roles are checked at each request: a demoted co-host loses them).
 */
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { handle } from '../rpc.ts';
import { channels } from '../session.ts';
import type { HandlerContext } from './context.ts';

export function registerModerationHandlers(ctx: HandlerContext): void {
	const { socket, session, meeting, control, arrival } = ctx;
	const { room, sub: me, name } = session.claims;

	meeting.addMember(me, name);
	if (meeting.isModerator(me)) {
		void socket.join(channels.hosts(room));
		socket.emit('waiting:list', { people: meeting.waitingList() });
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

	handle(ctx, 'host:mute', async ({ identity, source }) => {
		moderator();
		return { affected: await control.mute(meeting, identity, source, name) };
	});

	handle(ctx, 'host:muteAll', async () => {
		moderator();
		return { affected: await control.muteAll(meeting, me, name) };
	});

	handle(ctx, 'host:askUnmute', ({ identity }) => {
		moderator();
		notSelf(identity);
		control.askUnmute(meeting, identity, name);
		return {};
	});

	handle(ctx, 'host:remove', async ({ identity }) => {
		moderator();
		notSelf(identity);
		await control.remove(room, meeting, identity, name);
		return {};
	});

	handle(ctx, 'host:settings', (patch) => {
		moderator();
		const settings = meeting.updateSettings(patch);
		session.log.info({ settings }, 'meeting settings changed');
		return { settings };
	});

	handle(ctx, 'host:setRole', ({ identity, role }) => {
		moderator();
		if (meeting.roleOf(me) !== 'host') throw new ProtocolError(ErrorCode.Forbidden, 'only a host can change roles');
		notSelf(identity);
		control.setRole(meeting, identity, role, name);
		return {};
	});

	handle(ctx, 'host:admit', (target) => {
		moderator();
		return { admitted: control.admit(meeting, 'identity' in target ? target.identity : null) };
	});

	handle(ctx, 'host:deny', (target) => {
		moderator();
		return { denied: control.deny(meeting, 'identity' in target ? target.identity : null) };
	});

	handle(ctx, 'host:end', () => {
		moderator();
		// Answer first: the connection is about to close.
		setImmediate(() => control.end(room, meeting, name));
		return {};
	});
}
