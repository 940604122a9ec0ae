/**
 * Remote videos that never start. A consumer that the SFU has resumed, whose producer is
 * live and whose tile is visible should decode a first frame within a second or so; one
 * that has decoded nothing after STALL_MS is stuck somewhere (a lost keyframe request, a
 * consumer or encoder left in the wrong state) and is made again, which asks the SFU for a
 * fresh consumer and keyframe. Rare, and logged when it happens (`[parley] remote video
 * stalled`) so that its cause can be found.
 *
 * A video that played and then froze is not this: that is loss or bandwidth, which NACK,
 * PLI and the layer choice deal with. Each producer is made again at most MAX_RETRIES
 * times per session, so a publisher that really sends nothing costs little.
 */

/** How long a visible, resumed video may go without its first frame. */
export const STALL_MS = 4000;
/** Re-consumes per producer and session. */
export const MAX_RETRIES = 3;

export interface WatchedVideo {
	consumerId: string;
	producerId: string;
	trackId: string;
	/** Frames are due now: resumed on the SFU, its producer not paused, its tile visible. */
	due: boolean;
}

export interface InboundVideo {
	framesDecoded: number;
	packetsReceived: number;
	bytesReceived: number;
}

export interface Stall extends InboundVideo {
	consumerId: string;
	producerId: string;
	waitedMs: number;
	retry: number;
}

/** Video inbound-rtp entries of a receive transport's stats, by track id. */
export function inboundVideoByTrack(report: RTCStatsReport): Map<string, InboundVideo> {
	const out = new Map<string, InboundVideo>();
	report.forEach((entry: Record<string, unknown>) => {
		if (entry.type !== 'inbound-rtp' || entry.kind !== 'video' || typeof entry.trackIdentifier !== 'string') return;
		out.set(entry.trackIdentifier, {
			framesDecoded: Number(entry.framesDecoded ?? 0),
			packetsReceived: Number(entry.packetsReceived ?? 0),
			bytesReceived: Number(entry.bytesReceived ?? 0),
		});
	});
	return out;
}

export class StallWatch {
	readonly #retries = new Map<string, number>();
	/** When each consumer was first seen due (checks are about a second apart). */
	readonly #dueSince = new Map<string, number>();
	/** Consumers that have decoded a frame (never judged again). */
	readonly #started = new Set<string>();

	/** One step: the videos that are due and have decoded nothing for STALL_MS (to make again). */
	check(videos: readonly WatchedVideo[], inbound: ReadonlyMap<string, InboundVideo>, now: number): Stall[] {
		const stalls: Stall[] = [];
		const seen = new Set<string>();
		for (const v of videos) {
			seen.add(v.consumerId);
			if (!v.due) this.#dueSince.delete(v.consumerId);
			else if (!this.#dueSince.has(v.consumerId)) this.#dueSince.set(v.consumerId, now);
			if (this.#started.has(v.consumerId)) continue;
			const stats = inbound.get(v.trackId) ?? { framesDecoded: 0, packetsReceived: 0, bytesReceived: 0 };
			if (stats.framesDecoded > 0) {
				this.#started.add(v.consumerId);
				continue;
			}
			const dueSince = this.#dueSince.get(v.consumerId);
			if (dueSince === undefined || now - dueSince < STALL_MS) continue;
			const retry = (this.#retries.get(v.producerId) ?? 0) + 1;
			if (retry > MAX_RETRIES) continue;
			this.#retries.set(v.producerId, retry);
			this.#started.add(v.consumerId);
			stalls.push({ consumerId: v.consumerId, producerId: v.producerId, waitedMs: Math.round(now - dueSince), retry, ...stats });
		}
		// Consumers that are gone are forgotten (the retry count stays with the producer).
		for (const id of this.#dueSince.keys()) if (!seen.has(id)) this.#dueSince.delete(id);
		for (const id of this.#started) if (!seen.has(id)) this.#started.delete(id);
		return stalls;
	}

	reset(): void {
		this.#retries.clear();
		this.#started.clear();
		this.#dueSince.clear();
	}
}
