/**
 * In-meeting messaging: send (idempotent by the client's id), sync after reconnect,
 * history pages, delivered/read receipts back to senders, typing.
 * The store acknowledges before anyone is told: a message that was acked is stored.
 */
import type { MessageStore, StoredMessage } from '../chat/index.ts';
import { ChatLimits, ErrorCode, ProtocolError, type ChatMessage, type ChatWatermark } from '../protocol/index.ts';
import { handle } from '../rpc.ts';
import { channels, type ParleyServer } from '../session.ts';
import type { HandlerContext } from './context.ts';

export function registerChatHandlers(ctx: HandlerContext): void {
	const { socket, session, io, messages, files, presence } = ctx;
	const { room, sub: me, name } = session.claims;
	const direct = (identity: string) => channels.identity(room, identity);

	void socket.join([channels.chat(room), direct(me)]);

	handle(ctx, 'chat:send', async ({ id, text, to, attachment }) => {
		if (!session.claims.grants.chat) throw new ProtocolError(ErrorCode.Forbidden, 'this token may not send messages');
		if (to === me) throw new ProtocolError(ErrorCode.BadRequest, 'cannot send a direct message to yourself');
		// Direct messages go to members of the room (who ever joined it), here now or not: a
		// message to someone away, reconnecting or not back yet after a restart waits for them.
		if (to && !presence.get(room, to) && !(await messages.isMember(room, to))) {
			throw new ProtocolError(ErrorCode.NotFound, `no participant ${to} in this room`);
		}
		// A retry of a stored message is answered even when flooding: it costs nothing new.
		const existing = await messages.getById(room, me, id);
		if (existing) {
			// Forward it again: the first attempt may have been stored without being forwarded
			// (the store's answer lost in an outage). Receivers drop seqs they hold.
			forward(toWire(existing));
			return { message: toWire(existing), duplicate: true, epoch: await messages.epoch() };
		}
		if (!(await ctx.limit('chat'))) throw new ProtocolError(ErrorCode.RateLimited, 'you are sending messages too fast; slow down');
		const file = attachment ? await files.describe(room, attachment.fileId) : null;
		if (attachment && !file) throw new ProtocolError(ErrorCode.NotFound, 'no such file in this room');
		const { message, duplicate, epoch } = await messages.append({
			id,
			room,
			from: me,
			fromName: name,
			to: to ?? null,
			text,
			attachment: file,
		});
		const wire = toWire(message);
		forward(wire);
		return { message: wire, duplicate, epoch };
	});

	function forward(wire: ChatMessage): void {
		const target = wire.to ? socket.to([direct(wire.to), direct(me)]) : socket.to(channels.chat(room));
		target.emit('chat:message', wire);
	}

	handle(ctx, 'chat:sync', async ({ afterSeq, limit = ChatLimits.pageMax }) => {
		// Read lastSeq first: when hasMore is false, every visible message up to it is in the page.
		const epoch = await messages.epoch();
		const lastSeq = await messages.lastSeq(room);
		const page = await messages.after(room, me, afterSeq, limit + 1);
		const hasMore = page.length > limit;
		// The last page carries everyone's read watermark: read receipts are whole after a resync.
		const watermarks = hasMore
			? {}
			: { readUpTo: await messages.readWatermarks(room), deliveredUpTo: await messages.deliveredWatermarks(room) };
		return { messages: page.slice(0, limit).map(toWire), lastSeq, hasMore, epoch, ...watermarks };
	});

	handle(ctx, 'chat:history', async ({ beforeSeq, limit = 50 }) => {
		const page = await messages.before(room, me, beforeSeq, limit + 1);
		const hasMore = page.length > limit;
		const shown = hasMore ? page.slice(1) : page;
		const mine = shown.filter((m) => m.from === me).map((m) => m.seq);
		return { messages: shown.map(toWire), hasMore, receipts: mine.length ? await messages.receipts(room, mine) : [] };
	});

	handle(ctx, 'chat:delivered', async ({ upToSeq }) => {
		// A watermark: one store write and one small room event per request, however many messages.
		const result = await messages.markDeliveredUpTo(room, upToSeq, me);
		if (result.advanced) watermarks(io, room).add({ identity: me, deliveredUpTo: result.deliveredUpTo });
		return {};
	});

	handle(ctx, 'chat:receipts', async ({ seqs }) => ({ receipts: await messages.receipts(room, seqs, me) }));

	handle(ctx, 'chat:read', async ({ upToSeq }) => {
		const result = await messages.markRead(room, upToSeq, me);
		// A watermark, not a list: O(1) however many messages it covers.
		if (result.advanced) watermarks(io, room).add({ identity: me, readUpTo: result.readUpTo });
		return { readUpTo: result.readUpTo };
	});

	handle(ctx, 'chat:typing', async ({ typing, to }) => {
		if (!session.claims.grants.chat) throw new ProtocolError(ErrorCode.Forbidden, 'this token may not send messages');
		if (to === me) throw new ProtocolError(ErrorCode.BadRequest, 'cannot type to yourself');
		if (!(await ctx.limit('typing'))) throw new ProtocolError(ErrorCode.RateLimited, 'too many typing notifications; slow down');
		const event = { identity: me, name, typing, direct: Boolean(to) };
		(to ? socket.to(direct(to)) : socket.to(channels.chat(room))).emit('chat:typing', event);
		return {};
	});

	handle(ctx, 'presence:set', async ({ state }) => {
		if (!(await ctx.limit('presence'))) throw new ProtocolError(ErrorCode.RateLimited, 'too many presence changes; slow down');
		presence.setState(room, me, state);
		return {};
	});
}

/** Watermark moves of one room, sent together at most every WATERMARK_FLUSH_MS. */
const WATERMARK_FLUSH_MS = 50;
const pendingMarks = new WeakMap<ParleyServer, Map<string, Map<string, ChatWatermark>>>();

function watermarks(io: ParleyServer, room: string): { add(mark: ChatWatermark): void } {
	let rooms = pendingMarks.get(io);
	if (!rooms) pendingMarks.set(io, (rooms = new Map()));
	const all = rooms;
	return {
		add(mark) {
			let pending = all.get(room);
			if (!pending) {
				const batch = (pending = new Map());
				all.set(room, batch);
				setTimeout(() => {
					all.delete(room);
					io.to(channels.chat(room)).emit('chat:watermarks', { marks: [...batch.values()] });
				}, WATERMARK_FLUSH_MS);
			}
			const old = pending.get(mark.identity) ?? { identity: mark.identity };
			const max = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
			const merged: ChatWatermark = { identity: mark.identity };
			const delivered = max(old.deliveredUpTo, mark.deliveredUpTo);
			const read = max(old.readUpTo, mark.readUpTo);
			if (delivered !== undefined) merged.deliveredUpTo = delivered;
			if (read !== undefined) merged.readUpTo = read;
			pending.set(mark.identity, merged);
		},
	};
}

function toWire(m: StoredMessage): ChatMessage {
	return { id: m.id, seq: m.seq, ts: m.ts, from: m.from, fromName: m.fromName, to: m.to, text: m.text, attachment: m.attachment };
}

export type { MessageStore };
