/**
 * Recording: a host or co-host starts and stops it (`forbidden` for anyone else, checked
 * at each request); everyone admitted is told the state on entering (people in the
 * waiting room are told on arrival, by the server).
 */
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { handle } from '../rpc.ts';
import type { HandlerContext } from './context.ts';

export function registerRecordingHandlers(ctx: HandlerContext): void {
	const { socket, session, meeting, recordings } = ctx;
	const { room, sub: me } = session.claims;

	socket.emit('recording:state', recordings.state(room));

	const moderator = (): void => {
		if (meeting.closed) throw new ProtocolError(ErrorCode.InvalidState, 'the meeting has ended');
		if (!meeting.isModerator(me)) throw new ProtocolError(ErrorCode.Forbidden, 'only a host can start or stop recording');
	};

	handle(ctx, 'recording:start', async () => {
		moderator();
		return { recording: await recordings.start(room, me) };
	});

	handle(ctx, 'recording:stop', () => {
		moderator();
		if (!recordings.state(room).active) throw new ProtocolError(ErrorCode.InvalidState, 'the meeting is not being recorded');
		void recordings.stop(room, me);
		return { recording: recordings.state(room) };
	});
}
