/**
 * Fan-out of room events to the room's sockets. Bound once per room when the SFU
 * creates it; producers' own peers are left out of notifications about themselves.
 * Local to this node (see below).
 */
import type { Room } from '../sfu/index.ts';
import { peerInfo, peerQuality, producerInfo } from './handlers/wire.ts';
import { channels, type ParleyServer } from './session.ts';

export function bindRoomEvents(server: ParleyServer, room: Room): void {
	// Media lives on this node's SFU: its events go to this node's sockets only (io.local),
	// never through the cluster adapter to sockets of the same room name on other nodes.
	const io = server.local;
	const everyone = channels.room(room.id);
	const othersThan = (peerId: string) => io.to(everyone).except(channels.peer(room.id, peerId));

	room.on('peerjoined', (peer) => othersThan(peer.id).emit('peer:joined', peerInfo(peer)));
	room.on('peerleft', (peer) => othersThan(peer.id).emit('peer:left', { peerId: peer.id }));
	room.on('newproducer', (p) => othersThan(p.appData.peerId).emit('producer:new', producerInfo(p)));
	room.on('producerclose', (p) => {
		// A worker's death closes every producer on it at once: the peers that were on it start
		// their media over (media:reconnect) and would only spend their first moments on these.
		const lost = [...room.peers.values()].filter((peer) => peer.mediaLost).map((peer) => channels.peer(room.id, peer.id));
		io.to(everyone)
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
		io.to(channels.peer(room.id, p.appData.peerId)).emit('producer:layers', { producerId: p.id, maxSpatialLayer }),
	);
	room.on('activespeaker', (peerId) => io.to(everyone).emit('speaker:active', { peerId }));
	// A moved peer is told by its own connection's handler (handlers/room.ts), with its new media session.
	room.on('quality', (peers) => io.to(everyone).emit('quality:update', { peers: peers.map(peerQuality) }));
	room.once('close', (reason) => {
		if (reason === 'worker-died') io.to(everyone).emit('session:ended', { reason: 'room-closed' });
	});
}
