/**
 * Media negotiation: WebRTC transports, producing, consuming. Grants from the token are
 * enforced here (publish, publishSources, subscribe), not in the client.
 */
import type { types } from 'mediasoup';
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { ViewportQueue, type Peer } from '../../sfu/index.ts';

/** Viewport batches of one participant start at least this far apart (ms). */
const VIEWPORT_BATCH_INTERVAL_MS = 100;
import { handle } from '../rpc.ts';
import { turnIceServers } from '../turn/credentials.ts';
import { joined, type HandlerContext } from './context.ts';
import { consumerOptions, transportOptions } from './wire.ts';

export function registerMediaHandlers(ctx: HandlerContext): void {
	const { session, config, meeting } = ctx;
	const iceServers = () => turnIceServers(config.turn, session.claims.sub);
	const grants = session.claims.grants;
	const me = session.claims.sub;
	/** A host turned this source off and hosts must allow unmuting: refuse until they do. */
	const assertNotBlocked = (source: string): void => {
		const moderated = source === 'screen-audio' ? 'screen' : source;
		if ((moderated === 'microphone' || moderated === 'camera' || moderated === 'screen') && meeting.isBlocked(me, moderated)) {
			throw forbidden(`a host turned your ${moderated} off; wait until a host asks you to turn it on`);
		}
	};

	handle(ctx, 'media:createTransport', async ({ direction }) => {
		const { peer } = joined(session);
		if (direction === 'send' && !grants.publish) throw forbidden('this token may not publish');
		if (direction === 'recv' && !grants.subscribe) throw forbidden('this token may not subscribe');
		return transportOptions(await peer.createTransport(direction), iceServers());
	});

	handle(ctx, 'media:connectTransport', async ({ transportId, dtlsParameters }) => {
		const { peer } = joined(session);
		await peer.connectTransport(transportId, dtlsParameters as types.DtlsParameters);
		return {};
	});

	handle(ctx, 'media:restartIce', async ({ transportId }) => {
		const { peer } = joined(session);
		return { iceParameters: await peer.restartIce(transportId), iceServers: iceServers() };
	});

	handle(ctx, 'media:closeTransport', ({ transportId }) => {
		joined(session).peer.transport(transportId).close();
		return {};
	});

	handle(ctx, 'media:produce', async ({ transportId, kind, rtpParameters, source, paused, dimensions, maxSpatialLayer }) => {
		const { peer } = joined(session);
		if (!grants.publish) throw forbidden('this token may not publish');
		if (grants.publishSources && !grants.publishSources.includes(source)) {
			throw forbidden(`this token may not publish ${source}`);
		}
		assertNotBlocked(source);
		const producer = await peer.produce({
			transportId,
			kind,
			rtpParameters: rtpParameters as types.RtpParameters,
			source,
			paused: paused ?? false,
			...(dimensions ? { dimensions } : {}),
			...(maxSpatialLayer !== undefined ? { maxSpatialLayer } : {}),
		});
		return { producerId: producer.id };
	});

	handle(ctx, 'media:closeProducer', ({ producerId }) => {
		joined(session).peer.closeProducer(producerId);
		return {};
	});

	handle(ctx, 'media:pauseProducer', async ({ producerId }) => {
		await joined(session).peer.producer(producerId).pause();
		return {};
	});

	handle(ctx, 'media:resumeProducer', async ({ producerId }) => {
		const producer = joined(session).peer.producer(producerId);
		assertNotBlocked(producer.appData.source);
		await producer.resume();
		return {};
	});

	handle(ctx, 'media:consume', async ({ transportId, producerId }) => {
		const { room, peer } = joined(session);
		if (!grants.subscribe) throw forbidden('this token may not subscribe');
		// In a room spanning nodes, another node's producer is brought here first.
		const producer = ctx.span && !room.has(producerId) ? await ctx.span.producer(room, producerId) : room.producer(producerId);
		if (producer.appData.peerId === peer.id) {
			throw new ProtocolError(ErrorCode.InvalidState, 'cannot consume your own producer');
		}
		return consumerOptions(await peer.consume(transportId, producer), producer);
	});

	handle(ctx, 'media:resumeConsumer', async ({ consumerId }) => {
		await joined(session).peer.resumeConsumer(consumerId);
		return {};
	});

	handle(ctx, 'media:closeConsumer', ({ consumerId }) => {
		joined(session).peer.closeConsumer(consumerId);
		return {};
	});

	// Coalesced per peer (latest wins, at most ~10 batches a second): spam costs nothing extra.
	const viewportQueues = new WeakMap<Peer, ViewportQueue>();
	handle(ctx, 'media:setViewports', async ({ viewports }) => {
		const { peer } = joined(session);
		let queue = viewportQueues.get(peer);
		if (!queue) viewportQueues.set(peer, (queue = new ViewportQueue(peer, VIEWPORT_BATCH_INTERVAL_MS)));
		await queue.push(viewports);
		return {};
	});
}

function forbidden(message: string): ProtocolError {
	return new ProtocolError(ErrorCode.Forbidden, message);
}
