/**
 * The waiting room: a connection that must wait is in no room channel and has no feature
 * handlers — every request is answered `not_admitted` — until a host admits it (then it
 * enters like anyone else) or denies it (then it is told and disconnected).
 */
import { ErrorCode, type Result } from '../protocol/index.ts';
import { channels } from '../session.ts';
import type { HandlerContext } from './context.ts';

export function registerWaitingRoom(ctx: HandlerContext, known: ReadonlySet<string>, enter: () => void): void {
	const { socket, session, meeting } = ctx;
	const { room, sub: identity, name } = session.claims;
	const gate = (event: string, ...args: unknown[]): void => {
		if (!known.has(event)) return; // rejectUnknownEvents answers those
		const ack = args.at(-1);
		if (typeof ack === 'function') {
			(ack as (r: Result<never>) => void)({
				ok: false,
				error: { code: ErrorCode.NotAdmitted, message: 'you are in the waiting room; a host has not let you in yet' },
			});
		}
	};
	socket.onAny(gate);
	void socket.join([channels.waiting(room), channels.waitingIdentity(room, identity)]);
	let cancel: (() => void) | null = null;
	const done = (): void => {
		socket.offAny(gate);
		void socket.leave(channels.waiting(room));
		void socket.leave(channels.waitingIdentity(room, identity));
		cancel = null;
	};
	cancel = meeting.wait(identity, name, (decision) => {
		done();
		if (!socket.connected) return;
		socket.emit('waiting:status', { state: decision });
		if (decision === 'admitted') {
			session.log.info('admitted from the waiting room');
			enter();
		} else {
			session.log.info('turned away from the waiting room');
			socket.disconnect(true);
		}
	});
	socket.once('disconnect', () => cancel?.());
	session.log.info('in the waiting room');
	socket.emit('waiting:status', { state: 'waiting' });
}
