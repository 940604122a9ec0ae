/**
 * Entering and leaving a meeting: router capabilities, join (replacing an older session
 * of the same identity; on the same connection, starting its media over), leave, and
 * cleanup on disconnect.
 */
import type { types } from 'mediasoup';
import type { Peer, PreparedReceive, Room } from '../../sfu/index.ts';
import type { ConsumerOptions, PreparedMedia, ResponseData } from '../protocol/index.ts';
import { channels, type ParleyServer, type SessionRegistry } from '../session.ts';
import { handle } from '../rpc.ts';
import { turnIceServers } from '../turn/credentials.ts';
import { consumerOptions, peerInfo, peerInfos, transportOptions } from './wire.ts';
import { joined, type HandlerContext } from './context.ts';

type JoinAnswer = ResponseData<'room:join'>;

export function registerRoomHandlers(ctx: HandlerContext): void {
	const { socket, session, sfu, sessions } = ctx;
	const roomId = session.claims.room;

	handle(ctx, 'media:getRouterRtpCapabilities', async () => {
		const room = session.room ?? (await sfu.room(roomId));
		return { rtpCapabilities: room.rtpCapabilities };
	});

	/** The answer to room:join: who is here, and (asked for) the receive transport with their media. */
	const answer = async (room: Room, peer: Peer, receive: boolean | undefined, prepared?: PreparedReceive): Promise<JoinAnswer> => {
		let opened: JoinAnswer['receive'];
		if (receive && session.claims.grants.subscribe) {
			// The one prepared in the lobby (connected already, usually) if it is on this peer's router,
			// with the consumers the browser negotiated there: resumed now, before anything else (the
			// keyframe requests go out while this answer is made).
			const adopted = prepared ? peer.adopt(prepared) : null;
			const transport = adopted?.transport ?? (await peer.createTransport('recv'));
			const resumed = (adopted?.consumers ?? []).map(async ({ consumer, producer }) => {
				try {
					await peer.resumeConsumer(consumer.id);
					if (producer.closed) throw new Error(`producer ${producer.id} went away`);
					return { ...consumerOptions(consumer, producer), resumed: true as const };
				} catch (error) {
					// Not in the answer: the client drops its side and consumes the producer anew if it is still there.
					consumer.close();
					throw error;
				}
			});
			const covered = new Set(adopted?.consumers.map((c) => c.producer.id));
			const producers = room.producersExcept(peer.id).filter((p) => !covered.has(p.id));
			const made = await Promise.allSettled([...resumed, ...producers.map(async (producer) => consumerOptions(await peer.consume(transport.id, producer), producer))]);
			const consumers: ConsumerOptions[] = [];
			for (const m of made) {
				if (m.status === 'fulfilled') consumers.push(m.value);
				// The client consumes what is missing itself (and tells the person if that fails too).
				else session.log.debug({ err: m.reason }, 'consume at join failed');
			}
			opened = { transport: transportOptions(transport, turnIceServers(ctx.config.turn, session.claims.sub)), consumers };
		}
		// Who is here now (after the awaits): a producer that came meanwhile is consumed by the
		// client as usual; a consumer of one that went is left unused (and closed) by the client.
		// A room spanning nodes: the people on the other nodes too (the client consumes theirs).
		const here = peerInfos(room, peer.id);
		const span = ctx.span?.spans(roomId) ? await ctx.span.roster(roomId) : null;
		const peers = span ? [...here, ...span.peers.filter((p) => p.id !== peer.id && !here.some((h) => h.id === p.id))] : here;
		const activeSpeaker = span && ctx.span?.isCopy(roomId) ? span.activeSpeaker : room.activeSpeaker;
		const base: JoinAnswer = { self: peerInfo(peer), peers, videoCodec: room.videoCodec, activeSpeaker };
		return opened ? { ...base, receive: opened } : base;
	};

	/** Moves of this connection's media so far: a preparation overtaken by a later move is dropped. */
	let moves = 0;
	/**
	 * This peer's media was moved to a live worker (its worker died or was closed): set up the
	 * new session here (receive transport with a consumer of everything still live, send
	 * transport) and send it with media:reconnect, so that the client starts publishing and
	 * receiving without a round trip. If that fails the client is told to join again.
	 */
	const prepareMove = async (room: Room, peer: Peer): Promise<void> => {
		const move = ++moves;
		let prepared: PreparedMedia | undefined;
		try {
			const [joinAnswer, send] = await Promise.all([
				answer(room, peer, true),
				session.claims.grants.publish ? peer.createTransport('send') : null,
			]);
			const iceServers = turnIceServers(ctx.config.turn, session.claims.sub);
			prepared = send ? { ...joinAnswer, send: transportOptions(send, iceServers) } : joinAnswer;
		} catch (err) {
			session.log.info({ err }, 'could not prepare the moved media: the client joins again');
		}
		// A later move (a second worker lost meanwhile) sends its own; this one's transports went with it.
		if (move !== moves || peer.closed || session.peer !== peer) return;
		socket.emit('media:reconnect', { reason: 'worker-lost', ...(prepared ? { prepared } : {}) });
	};

	handle(ctx, 'room:join', async ({ rtpCapabilities, receive, pushConsumers, prepared: preparedId }) => {
		const found = preparedId ? ctx.prepared.find(roomId, session.claims.sub, preparedId) : undefined;
		const prepared = found && !found.done ? found : undefined;
		if (preparedId) session.log.debug({ transportId: preparedId, usable: !!prepared }, 'join with a prepared receive transport');
		const current = session.peer;
		if (current && !current.closed && session.room && !session.room.closed) {
			current.pushConsumers = !!pushConsumers && session.claims.grants.subscribe;
			// The same connection joining again: its media moved to another worker (media:reconnect)
			// or the client starts it over. The participant stays (no leave/join for the others).
			current.resetMedia(rtpCapabilities as types.RtpCapabilities);
			return answer(session.room, current, receive, prepared);
		}
		leave(ctx);
		const previous = sessions.get(roomId, session.claims.sub);
		if (previous && previous !== session) {
			previous.log.info('replaced by a newer session of the same identity');
			previous.socket.emit('session:ended', { reason: 'duplicate-identity' });
			leave({ ...ctx, session: previous });
			previous.socket.disconnect(true);
		}
		// In a cluster, an older session on another node is replaced there.
		if (ctx.config.redis.url) ctx.io.serverSideEmit('identity:joined', roomId, session.claims.sub);
		const room = await sfu.room(roomId);
		// mediasoup checks the capabilities in depth when they are used (canConsume/consume).
		const peer = await room.join(session.claims.sub, session.claims.name, rtpCapabilities as types.RtpCapabilities, prepared);
		session.room = room;
		session.peer = peer;
		peer.pushConsumers = !!pushConsumers && session.claims.grants.subscribe;
		sessions.set(session);
		peer.on('consumerclose', (consumer) => {
			socket.emit('consumer:closed', { consumerId: consumer.id, producerId: consumer.producerId });
		});
		peer.on('consumerlayers', (consumer, layers) => {
			socket.emit('consumer:layers', {
				consumerId: consumer.id,
				spatialLayer: layers?.spatialLayer ?? null,
				temporalLayer: layers?.temporalLayer ?? null,
			});
		});
		peer.on('moved', () => void prepareMove(room, peer));
		peer.once('close', () => {
			if (session.peer === peer) {
				session.peer = undefined;
				session.room = undefined;
				void socket.leave(channels.room(roomId));
				void socket.leave(channels.peer(roomId, peer.id));
			}
		});
		await socket.join([channels.room(roomId), channels.peer(roomId, peer.id)]);
		const joinAnswer = await answer(room, peer, receive, prepared);
		// One prepared in the lobby and not taken (the client joined without naming it): closed now, not at its expiry.
		ctx.prepared.discard(roomId, session.claims.sub);
		return joinAnswer;
	});

	handle(ctx, 'room:leave', () => {
		joined(session);
		leave(ctx);
		return {};
	});

	socket.on('disconnect', (reason) => {
		session.log.info({ reason }, 'disconnected');
		leave(ctx);
	});
}

/** Another node says an identity joined a room: end its older session on this node. */
export function bindClusterIdentity(io: ParleyServer, sessions: SessionRegistry): void {
	io.on('identity:joined', (roomId, identity) => {
		const previous = sessions.get(roomId, identity);
		if (!previous) return;
		previous.log.info('replaced by a newer session of the same identity on another node');
		previous.socket.emit('session:ended', { reason: 'duplicate-identity' });
		leave({ session: previous, sessions });
		previous.socket.disconnect(true);
	});
}

function leave({ session, sessions }: Pick<HandlerContext, 'session' | 'sessions'>): void {
	const peer = session.peer;
	session.peer = undefined;
	session.room = undefined;
	sessions.delete(session);
	peer?.close();
}
