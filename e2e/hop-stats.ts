/**
 * Where media goes missing, hop by hop, for one direction of a call (sender → SFU →
 * receiver): the sending page's outbound streams (frames sent per layer, retransmissions,
 * NACKs and keyframe requests it got), the SFU's producer (what arrived, lost, repaired by
 * retransmission, NACKs and PLIs it sent upstream) and consumer (what it forwarded and
 * retransmitted, what the receiver reported lost, NACKs and PLIs it got from the receiver)
 * from the dev-mode endpoint /api/dev/rooms/:room/media-stats, and the receiving page's
 * inbound streams (frames received, decoded, dropped, freezes).
 */
import type { Page } from '@playwright/test';
import type { PageGlobals, StatsEntry } from './fixtures.ts';
import type { DevMediaStats } from '../signaling/http/devMediaStats.ts';
import type { InboundStream } from './media-helpers.ts';

type Entry = Record<string, unknown>;

export interface OutboundStream {
	kind: string;
	rid: string;
	ssrc: number;
	framesEncoded: number;
	framesSent: number;
	keyFramesEncoded: number;
	packetsSent: number;
	retransmittedPacketsSent: number;
	nackCount: number;
	pliCount: number;
	firCount: number;
	frameWidth: number;
	active: boolean;
	timestamp: number;
}

export async function readOutbound(page: Page): Promise<OutboundStream[]> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
		const out: OutboundStream[] = [];
		for (const pc of g.__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			(await pc.getStats()).forEach((e: StatsEntry) => {
				if (e.type !== 'outbound-rtp') return;
				out.push({
					kind: String(e.kind),
					rid: String(e.rid ?? ''),
					ssrc: n(e.ssrc),
					framesEncoded: n(e.framesEncoded),
					framesSent: n(e.framesSent),
					keyFramesEncoded: n(e.keyFramesEncoded),
					packetsSent: n(e.packetsSent),
					retransmittedPacketsSent: n(e.retransmittedPacketsSent),
					nackCount: n(e.nackCount),
					pliCount: n(e.pliCount),
					firCount: n(e.firCount),
					frameWidth: n(e.frameWidth),
					active: e.active !== false,
					timestamp: n(e.timestamp),
				});
			});
		}
		return out;
	});
}

export async function readServerMedia(baseURL: string, room: string): Promise<DevMediaStats | null> {
	try {
		const res = await fetch(`${baseURL}/api/dev/rooms/${encodeURIComponent(room)}/media-stats`);
		return res.ok ? ((await res.json()) as DevMediaStats) : null;
	} catch {
		return null;
	}
}

const num = (e: Entry | undefined, k: string): number => (e && typeof e[k] === 'number' ? (e[k] as number) : 0);

function diff(before: Entry | undefined, after: Entry, keys: readonly string[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const k of keys) out[k] = num(after, k) - num(before, k);
	return out;
}

const PRODUCER_KEYS = ['packetCount', 'packetsLost', 'packetsRepaired', 'packetsRetransmitted', 'packetsDiscarded', 'nackCount', 'nackPacketCount', 'pliCount', 'firCount'] as const;
const CONSUMER_KEYS = ['packetCount', 'packetsRetransmitted', 'packetsLost', 'nackCount', 'nackPacketCount', 'pliCount', 'firCount'] as const;

function producerOf(stats: DevMediaStats | null, peerName: string, kind: string) {
	const peer = stats?.peers.find((p) => p.name === peerName);
	return peer?.producers.find((p) => p.kind === kind && (kind === 'audio' || p.source === 'camera'));
}

function consumerOf(stats: DevMediaStats | null, viewerName: string, producerName: string, kind: string) {
	const producerPeer = stats?.peers.find((p) => p.name === producerName);
	const viewer = stats?.peers.find((p) => p.name === viewerName);
	return viewer?.consumers.find((c) => c.producerPeerId === producerPeer?.id && c.kind === kind && (kind === 'audio' || c.source === 'camera'));
}

/** One direction's hops between two samples. */
export function hops(
	args: {
		from: string;
		to: string;
		server: [DevMediaStats | null, DevMediaStats | null];
		sender: [OutboundStream[], OutboundStream[]];
		receiver: [InboundStream[], InboundStream[]];
	},
) {
	const [s0, s1] = args.server;
	const seconds = Math.max(0.001, ((args.sender[1][0]?.timestamp ?? 0) - (args.sender[0][0]?.timestamp ?? 0)) / 1000);
	const kinds = ['video', 'audio'] as const;
	const out: Record<string, unknown> = {};
	for (const kind of kinds) {
		const sender = args.sender[1]
			.filter((o) => o.kind === kind)
			.map((o) => {
				const before = args.sender[0].find((b) => b.ssrc === o.ssrc);
				const d = diff(before as unknown as Entry, o as unknown as Entry, ['framesSent', 'keyFramesEncoded', 'packetsSent', 'retransmittedPacketsSent', 'nackCount', 'pliCount', 'firCount']);
				return { rid: o.rid, width: o.frameWidth, active: o.active, fps: Math.round((10 * d.framesSent!) / seconds) / 10, ...d };
			});
		const p1 = producerOf(s1, args.from, kind);
		const p0 = producerOf(s0, args.from, kind);
		const producer = (p1?.stats ?? [])
			.filter((e) => e.type === 'inbound-rtp')
			.map((e) => {
				const before = p0?.stats.find((b) => b.ssrc === e.ssrc);
				const d = diff(before, e, PRODUCER_KEYS);
				const expected = d.packetCount! + d.packetsLost!;
				return { rid: e.rid ?? '', score: e.score, lossPercent: expected > 0 ? Math.round((1000 * d.packetsLost!) / expected) / 10 : 0, ...d };
			});
		const c1 = consumerOf(s1, args.to, args.from, kind);
		const c0 = c1 ? s0?.peers.flatMap((p) => p.consumers).find((c) => c.id === c1.id) : undefined;
		const cOut1 = c1?.stats.find((e) => e.type === 'outbound-rtp');
		const cOut0 = c0?.stats.find((e) => e.type === 'outbound-rtp');
		const consumer = cOut1 ? { layers: c1?.layers ?? null, score: cOut1.score, ...diff(cOut0, cOut1, CONSUMER_KEYS) } : null;
		const in1 = args.receiver[1].find((s) => s.kind === kind);
		const in0 = in1 ? args.receiver[0].find((s) => s.mid === in1.mid && s.kind === kind) : undefined;
		const receiver = in1
			? diff(in0 as unknown as Entry, in1 as unknown as Entry, [
					'packetsReceived',
					'packetsLost',
					'retransmittedPacketsReceived',
					'nackCount',
					'pliCount',
					'firCount',
					'framesReceived',
					'framesDecoded',
					'framesDropped',
					'freezeCount',
					'totalFreezesDuration',
					'concealedSamples',
					'totalSamplesReceived',
				])
			: null;
		out[kind] = { sender, producer, consumer, receiver };
	}
	return out;
}
