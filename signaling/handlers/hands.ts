/**
 * Raised hands (kept in the order they went up; a host may lower anyone's) and emoji
 * reactions (a closed set, rate-limited, shown briefly on the sender's tile).
 */
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { TokenBucket } from '../rateLimit.ts';
import { handle } from '../rpc.ts';
import { channels } from '../session.ts';
import type { HandlerContext } from './context.ts';

export function registerHandHandlers(ctx: HandlerContext): void {
	const { io, session, meeting, control, spanMeeting } = ctx;
	const { room, sub: me, name } = session.claims;
	const reactions = new TokenBucket(2, 6);

	// On a copy of a spanning room, hands are the host node's meeting's (one queue for every node).
	const copy = (): typeof spanMeeting | null => (spanMeeting?.mode(room) === 'copy' ? spanMeeting : null);

	handle(ctx, 'hand:raise', async () => {
		const host = copy();
		if (host) await host.toHost({ action: 'hand', room, identity: me, raised: true, by: null });
		else meeting.raiseHand(me);
		return {};
	});

	handle(ctx, 'hand:lower', async ({ identity = me }) => {
		if (identity !== me && !meeting.isModerator(me)) {
			throw new ProtocolError(ErrorCode.Forbidden, "only a host can lower someone else's hand");
		}
		const by = identity === me ? null : name;
		const host = copy();
		if (host) await host.toHost({ action: 'hand', room, identity, raised: false, by });
		else control.lowerHand(meeting, identity, by);
		return {};
	});

	handle(ctx, 'reaction:send', ({ emoji }) => {
		if (!reactions.take()) throw new ProtocolError(ErrorCode.RateLimited, 'too many reactions; slow down');
		io.to(channels.chat(room)).emit('reaction', { identity: me, emoji, at: Date.now() });
		return {};
	});
}
