/**
 * The operator's view of the server (`GET /admin/rooms`, `npm run admin -- rooms`):
 * workers and their load, rooms, and each participant's worker, bitrates and loss.
 */
import type { PeerQuality } from '../protocol/index.ts';
import type { Peer, Room, Sfu } from '../../sfu/index.ts';
import type { DrainState } from './Drainer.ts';

export interface AdminWorker {
	index: number;
	pid: number;
	/** UDP and TCP media port. */
	port: number;
	/** CPU over the last sampling period, percent of one core. */
	cpuPercent: number | null;
	maxRssBytes: number | null;
	routers: number;
	peers: number;
	consumers: number;
}

export interface AdminPeer {
	id: string;
	name: string;
	worker: number;
	producers: number;
	consumers: number;
	/** What the SFU receives from this participant (kbps). */
	sendKbps: number;
	/** What the SFU sends to this participant (kbps). */
	recvKbps: number;
	/** Uplink loss and RTT from the last quality measurement (null: not measured yet). */
	lossPercent: number | null;
	rttMs: number | null;
	quality: PeerQuality['quality'] | null;
}

export interface AdminRoom {
	id: string;
	/** Workers the room has routers on. */
	workers: number[];
	peers: AdminPeer[];
}

export interface AdminRoomsResponse {
	at: string;
	drain: DrainState;
	workers: AdminWorker[];
	rooms: AdminRoom[];
}

/** The worker a peer's media is on. */
export function workerOf(_room: Room, peer: Peer): number {
	return peer.workerIndex;
}

/** Remembers each room's last quality measurement (for the admin view). */
export class QualityCache {
	readonly #byRoom = new Map<string, Map<string, PeerQuality>>();

	watch(room: Room): void {
		room.on('quality', (peers) => this.#byRoom.set(room.id, new Map(peers.map((q) => [q.peerId, q]))));
		room.once('close', () => this.#byRoom.delete(room.id));
	}

	get(roomId: string, peerId: string): PeerQuality | undefined {
		return this.#byRoom.get(roomId)?.get(peerId);
	}
}

export async function snapshot(sfu: Sfu, quality: QualityCache, drain: DrainState): Promise<AdminRoomsResponse> {
	const rooms = await Promise.all(
		[...sfu.rooms.values()]
			.filter((r) => !r.closed)
			.map(async (room): Promise<AdminRoom> => {
				const peers = await Promise.all([...room.peers.values()].map((peer) => describePeer(room, peer, quality)));
				return { id: room.id, workers: room.workers, peers };
			}),
	);
	const workers = sfu.pool.workers.map(({ index, port, worker, routers }): AdminWorker => {
		const load = sfu.load.get(index);
		const here = rooms.flatMap((r) => r.peers).filter((p) => p.worker === index);
		return {
			index,
			pid: worker.pid,
			port,
			cpuPercent: load ? Math.round(load.cpuPercent * 10) / 10 : null,
			maxRssBytes: load?.maxRssBytes ?? null,
			routers,
			peers: here.length,
			consumers: here.reduce((n, p) => n + p.consumers, 0),
		};
	});
	return { at: new Date().toISOString(), drain, workers, rooms };
}

async function describePeer(room: Room, peer: Peer, quality: QualityCache): Promise<AdminPeer> {
	let sendBps = 0;
	let recvBps = 0;
	await Promise.all(
		[...peer.transports.values()].map(async (t) => {
			const [s] = await t.getStats().catch(() => []);
			if (!s) return;
			sendBps += s.recvBitrate;
			recvBps += s.sendBitrate;
		}),
	);
	const q = quality.get(room.id, peer.id);
	return {
		id: peer.id,
		name: peer.name,
		worker: workerOf(room, peer),
		producers: peer.producers.size,
		consumers: peer.consumers.size,
		sendKbps: Math.round(sendBps / 1000),
		recvKbps: Math.round(recvBps / 1000),
		lossPercent: q?.lossPercent ?? null,
		rttMs: q?.rttMs ?? null,
		quality: q?.quality ?? null,
	};
}
