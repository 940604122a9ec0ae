/**
 * Fan-out of room events to the room's sockets. Bound once per room when the SFU
 * creates it; producers' own peers are left out of notifications about themselves.
 * Local to this node, unless the room spans nodes (see below).
 */
import type { Producer, Room } from '../sfu/index.ts';
import type { ConsumerOptions } from './protocol/index.ts';
import { consumerOptions, peerInfo, peerQuality, producerInfo } from './handlers/wire.ts';
import { channels, type ParleyServer } from './session.ts';

/** A room that spans nodes (signaling/cluster/SpanningRooms). */
export interface RoomSpan {
	/** The room spans nodes: this node's events of it go to its sockets on every node. */
	spans(room: string): boolean;
	/** This node serves a copy of a room hosted elsewhere (the host says who speaks). */
	isCopy(room: string): boolean;
	/** Resolves once the producer may be announced (a copy's producer has reached the host). */
	beforeAnnounce(room: Room, producer: Producer): Promise<void>;
}

export function bindRoomEvents(server: ParleyServer, room: Room, span?: RoomSpan): void {
	// Media lives on this node's SFU: its events go to this node's sockets only (io.local),
	// never through the cluster adapter to sockets of the same room name on other nodes;
	// unless the room spans nodes: then each node tells everyone about its own participants.
	const local = server.local;
	const everyone = channels.room(room.id);
	const io = (): Pick<ParleyServer['local'], 'to'> => (span?.spans(room.id) ? server : local);
	const othersThan = (peerId: string) => io().to(everyone).except(channels.peer(room.id, peerId));

	room.on('peerjoined', (peer) => othersThan(peer.id).emit('peer:joined', peerInfo(peer)));
	room.on('peerleft', (peer) => othersThan(peer.id).emit('peer:left', { peerId: peer.id }));
	room.on('newproducer', (p) => {
		const owner = room.peers.get(p.appData.peerId);
		const moved = owner?.movedAt != null && Date.now() - owner.movedAt < PUSH_AFTER_MOVE_MS;
		if (span?.isCopy(room.id)) {
			void span.beforeAnnounce(room, p).then(() => {
				if (!p.closed) othersThan(p.appData.peerId).emit('producer:new', producerInfo(p));
			});
		} else if (moved) void announceWithConsumers(room, p, local);
		else othersThan(p.appData.peerId).emit('producer:new', producerInfo(p));
	});
	room.on('producerclose', (p) => {
		// A worker's death closes every producer on it at once: the peers that were on it start
		// their media over (media:reconnect) and would only spend their first moments on these.
		const lost = [...room.peers.values()].filter((peer) => peer.mediaLost).map((peer) => channels.peer(room.id, peer.id));
		io()
			.to(everyone)
			.except([channels.peer(room.id, p.appData.peerId), ...lost])
			.emit('producer:closed', { producerId: p.id, peerId: p.appData.peerId });
	});
	room.on('producerpause', (p) =>
		othersThan(p.appData.peerId).emit('producer:paused', { producerId: p.id, peerId: p.appData.peerId }),
	);
	room.on('producerresume', (p) =>
		othersThan(p.appData.peerId).emit('producer:resumed', { producerId: p.id, peerId: p.appData.peerId }),
	);
	room.on('producerlayers', (p, maxSpatialLayer) =>
		local.to(channels.peer(room.id, p.appData.peerId)).emit('producer:layers', { producerId: p.id, maxSpatialLayer }),
	);
	room.on('activespeaker', (peerId) => {
		// A copy's observer hears only its own people: the host's (which hears everyone) decides.
		if (!span?.isCopy(room.id)) io().to(everyone).emit('speaker:active', { peerId });
	});
	// A moved peer is told by its own connection's handler (handlers/room.ts), with its new media session.
	// Quality: each node reports the people whose media it carries, to its own sockets.
	room.on('quality', (peers) => local.to(everyone).emit('quality:update', { peers: peers.map(peerQuality) }));
	room.once('close', (reason) => {
		if (reason === 'worker-died') local.to(everyone).emit('session:ended', { reason: 'room-closed' });
	});
}

/**
 * How long after a participant's media moved (a worker died) its new producers come with a
 * consumer made for each client that asked for it (`pushConsumers` at join): everyone is
 * waiting for that media again, and this saves each of them a consume round trip.
 */
const PUSH_AFTER_MOVE_MS = 15_000;

/**
 * producer:new for a producer a moved participant published again: with a consumer of it
 * made on the receive transport of each client that asked for pushed consumers (a plain
 * producer:new where that failed: the client consumes it itself), plain to the others.
 */
async function announceWithConsumers(room: Room, producer: Producer, io: ParleyServer['local']): Promise<void> {
	const ownerId = producer.appData.peerId;
	const targets = [...room.peers.values()].filter((peer) => peer.id !== ownerId && peer.pushConsumers && !peer.closed && !peer.mediaLost);
	const made = await Promise.all(
		targets.map(async (peer): Promise<[string, (ConsumerOptions & { transportId: string }) | null]> => {
			const transport = peer.recvTransport;
			if (!transport) return [peer.id, null];
			try {
				const consumer = await peer.consume(transport.id, producer);
				return [peer.id, { ...consumerOptions(consumer, producer), transportId: transport.id }];
			} catch (err) {
				peer.log.debug({ err, producerId: producer.id }, 'pushed consumer not made: the client consumes itself');
				return [peer.id, null];
			}
		}),
	);
	// Gone meanwhile: its consumers went with it, and whoever heard producer:closed needs no news of it.
	if (producer.closed) return;
	const info = producerInfo(producer);
	const everyone = channels.room(room.id);
	io.to(everyone)
		.except([channels.peer(room.id, ownerId), ...made.map(([id]) => channels.peer(room.id, id))])
		.emit('producer:new', info);
	for (const [peerId, consumer] of made) io.to(channels.peer(room.id, peerId)).emit('producer:new', consumer ? { ...info, consumer } : info);
}
