/**
 * Dev mode only: `GET /api/dev/rooms/:room/media-stats`, the SFU's own view of a room's
 * media — mediasoup's stats of every producer (what arrived from each sender: packets,
 * losses, NACKs sent, retransmissions received, keyframe requests), consumer (what went
 * out to each viewer and what its receiver reported back) and transport. The loss tests
 * and the loss benchmark read it to say, hop by hop, where media goes missing. Off (404)
 * outside dev mode: it names every participant of any room.
 */
import type { Request, Response, Router } from 'express';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import { ErrorCode } from '../protocol/index.ts';

type Stats = Record<string, unknown>[];

export interface DevMediaStats {
	peers: {
		id: string;
		name: string;
		producers: { id: string; kind: string; source: string; stats: Stats }[];
		consumers: { id: string; kind: string; producerPeerId: string; source: string; paused: boolean; layers: unknown; stats: Stats }[];
		transports: { id: string; direction: string; stats: Stats }[];
	}[];
}

const asStats = (s: readonly object[]): Stats => s.map((e) => ({ ...e }) as Record<string, unknown>);

export function devMediaStatsRoute(router: Router, config: Config, sfu: Sfu, sendError: (res: Response, status: number, code: ErrorCode, message: string) => void): void {
	router.get('/api/dev/rooms/:room/media-stats', async (req: Request, res: Response) => {
		if (!config.dev) {
			sendError(res, 404, ErrorCode.NotFound, 'media stats are served only in dev mode');
			return;
		}
		const room = sfu.rooms.get(String(req.params.room ?? ''));
		if (!room) {
			sendError(res, 404, ErrorCode.NotFound, 'no such room');
			return;
		}
		const out: DevMediaStats = { peers: [] };
		for (const peer of room.peers.values()) {
			const settle = <T>(p: Promise<T>, fallback: T): Promise<T> => p.catch(() => fallback);
			out.peers.push({
				id: peer.id,
				name: peer.name,
				producers: await Promise.all(
					[...peer.producers.values()].map(async (p) => ({ id: p.id, kind: p.kind, source: p.appData.source, stats: asStats(await settle(p.getStats(), [])) })),
				),
				consumers: await Promise.all(
					[...peer.consumers.values()].map(async (c) => ({
						id: c.id,
						kind: c.kind,
						producerPeerId: c.appData.producerPeerId,
						source: c.appData.source,
						paused: c.paused,
						layers: c.currentLayers ?? null,
						stats: asStats(await settle(c.getStats(), [])),
					})),
				),
				transports: await Promise.all(
					[...peer.transports.values()].map(async (t) => ({ id: t.id, direction: t.appData.direction, stats: asStats(await settle(t.getStats(), [])) })),
				),
			});
		}
		res.json(out);
	});
}
