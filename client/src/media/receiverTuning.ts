/**
 * Loss-adaptive receive buffering. Lost packets come back by NACK/RTX about one round trip
 * later, or two when the retransmission is lost too (video on every leg; audio on the
 * sender → SFU leg, since the client negotiates Opus NACK). The browser's jitter buffers
 * size themselves from arrival jitter and do not wait for those late packets, so under
 * loss video freezes and audio gets concealed even though the packets do arrive. When a
 * sender's media shows loss, this raises the receivers' `jitterBufferTarget` (a minimum
 * playout delay) to cover the retransmissions over the whole path — our link to the SFU
 * and the sender's — for two repair round trips (three under heavy loss, tuning
 * `heavyLossRoundTrips`), and drops it back to the browser's default once the loss has been
 * gone for a while. Measured at 30% loss (e2e/loss.spec.ts, npm run bench:loss): less
 * concealment and fewer freezes, for ~250-400 ms of playout delay while the loss lasts.
 *
 * The round trips added under heavy loss (beyond two) are added only as far as the call's
 * latency budget allows (`latencyBudgetMs`, the promise of under 400 ms mouth to ear): up
 * to the budget minus the one-way path (half of both legs' round trips) and the rest of
 * the pipeline (PIPELINE_MS); the two-round-trip buffer itself is never cut. At 30% loss and
 * 100 ms RTT the third round trip measured 461-502 ms glass to glass p95 (npm run
 * bench:latency), over the promise; without it 365-411 ms with the receiver lossy and
 * 368-492 ms with the sender lossy (its frames repaired on its own leg come late anyway).
 */
import type { types as msc } from 'mediasoup-client';

interface ConsumerLike {
	id: string;
	kind: 'audio' | 'video';
	track: MediaStreamTrack;
	rtpReceiver: RTCRtpReceiver | undefined;
	closed: boolean;
	appData: msc.AppData & { peerId: string };
}

interface Counters {
	/** Samples taken so far (the first few are the stream starting up, not loss). */
	samples: number;
	packetsReceived: number;
	packetsLost: number;
	nackCount: number;
	concealedSamples: number;
	totalSamplesReceived: number;
	/** The last few intervals' changes (received, lost, nacks, samples, concealed). */
	history: number[][];
}

interface PeerState {
	/** performance.now() of the last interval that showed loss. */
	lossyAt: number;
	/** performance.now() of the last interval that showed heavy loss. */
	heavyAt: number;
	target: number | null;
}

/** A stream's first samples are ignored: audio is concealed while its buffer first fills. */
const WARMUP_SAMPLES = 3;
/** Intervals (update calls, ~1 s each) the loss is judged over. */
const WINDOW = 5;
/**
 * Loss above this fraction of the window's packets (lost, or asked for again by NACK), or
 * of its audio samples concealed, counts as lossy. Over a window, not per interval: a
 * jitter spike that conceals a few ms of audio must not add buffering to a clean call.
 */
const LOSSY_FRACTION = 0.03;
/** How long a sender must stay clean before its receivers go back to the default buffer (ms). */
const RELEASE_AFTER_MS = 10_000;
const MIN_TARGET_MS = 80;
const MAX_TARGET_MS = 400;
/** Retransmissions to wait for: the first one, and a second one when it was lost too. */
const ROUND_TRIPS = 2;
const MARGIN_MS = 40;
/**
 * What a frame spends outside the receiver's jitter buffer besides the network's one way,
 * plus the spread of the glass-to-glass time over its median (ms): capture and encode
 * ~15, decode and render ~10 (npm run bench:latency at 30% loss: capture → received p50
 * 62-65 ms over a 50 ms one-way path; received → shown p50 = the buffer + 8-20 ms), and
 * p95 − p50 of 35-60 ms.
 */
const PIPELINE_MS = 100;
/** Loss above this fraction of a window's packets (lost, or asked for again by NACK: 0.14-0.20 at 10% random loss, 0.3-1.8 at 30%) is heavy (see JitterBufferTunerOptions). */
const HEAVY_FRACTION = 0.25;

export interface JitterBufferTunerOptions {
	/**
	 * Retransmissions to wait for while a sender's media shows heavy loss (over
	 * HEAVY_FRACTION): at 30% loss both ways a repair succeeds only about half the time per
	 * round trip, so two round trips leave ~8% of the lost audio unrepaired, three ~4%.
	 */
	heavyLossRoundTrips: number;
	/**
	 * The glass-to-glass time (ms) within which the heavy-loss round trips are added: the
	 * target grows past two round trips only up to this minus the one-way path and
	 * PIPELINE_MS. 0: no limit.
	 */
	latencyBudgetMs: number;
}

export class JitterBufferTuner {
	private counters = new Map<string, Counters>();
	private peers = new Map<string, PeerState>();
	private applied = new Map<string, number | null>();
	private readonly options: JitterBufferTunerOptions;

	constructor(options: Partial<JitterBufferTunerOptions> = {}) {
		this.options = { heavyLossRoundTrips: ROUND_TRIPS, latencyBudgetMs: 0, ...options };
	}

	/**
	 * One step: read the receive transport's stats, decide each sender's target and apply it
	 * to all of that sender's receivers (audio and video alike, which keeps them in sync).
	 * `peerRttMs` is the sender's own round trip to the SFU (from the server's quality
	 * reports), which its retransmissions also take.
	 */
	update(report: RTCStatsReport, consumers: readonly ConsumerLike[], peerRttMs: (peerId: string) => number | null): void {
		const now = performance.now();
		const byTrack = new Map<string, ConsumerLike>();
		for (const c of consumers) if (!c.closed) byTrack.set(c.track.id, c);
		let ownRttMs = 0;
		const lossyPeers = new Set<string>();
		const heavyPeers = new Set<string>();
		const seen = new Set<string>();
		report.forEach((entry: Record<string, unknown>) => {
			if (entry.type === 'candidate-pair' && entry.nominated && typeof entry.currentRoundTripTime === 'number') {
				ownRttMs = Math.max(ownRttMs, entry.currentRoundTripTime * 1000);
			}
			if (entry.type !== 'inbound-rtp') return;
			const consumer = byTrack.get(String(entry.trackIdentifier ?? ''));
			if (!consumer) return;
			seen.add(consumer.id);
			const previous = this.counters.get(consumer.id);
			const current: Counters = {
				samples: (previous?.samples ?? 0) + 1,
				packetsReceived: Number(entry.packetsReceived ?? 0),
				packetsLost: Number(entry.packetsLost ?? 0),
				nackCount: Number(entry.nackCount ?? 0),
				concealedSamples: Number(entry.concealedSamples ?? 0),
				totalSamplesReceived: Number(entry.totalSamplesReceived ?? 0),
				history: previous?.history ?? [],
			};
			this.counters.set(consumer.id, current);
			if (!previous || current.samples <= WARMUP_SAMPLES) return;
			current.history.push([
				current.packetsReceived - previous.packetsReceived,
				Math.max(0, current.packetsLost - previous.packetsLost),
				current.nackCount - previous.nackCount,
				current.totalSamplesReceived - previous.totalSamplesReceived,
				current.concealedSamples - previous.concealedSamples,
			]);
			if (current.history.length > WINDOW) current.history.shift();
			const [received, lost, nacks, samples, concealed] = current.history.reduce(
				(sum, d) => sum.map((v, i) => v + d[i]!),
				[0, 0, 0, 0, 0],
			) as [number, number, number, number, number];
			const lossy =
				(received > 0 && (lost / (received + lost) > LOSSY_FRACTION || nacks / received > LOSSY_FRACTION)) ||
				(samples > 0 && concealed / samples > LOSSY_FRACTION);
			if (lossy) lossyPeers.add(consumer.appData.peerId);
			if (received > 0 && Math.max(lost / (received + lost), nacks / received) > HEAVY_FRACTION) heavyPeers.add(consumer.appData.peerId);
		});
		for (const id of this.counters.keys()) if (!seen.has(id) && !consumers.some((c) => c.id === id)) this.counters.delete(id);

		const peerIds = new Set(consumers.map((c) => c.appData.peerId));
		for (const peerId of peerIds) {
			let state = this.peers.get(peerId);
			if (!state) {
				state = { lossyAt: -Infinity, heavyAt: -Infinity, target: null };
				this.peers.set(peerId, state);
			}
			if (lossyPeers.has(peerId)) state.lossyAt = now;
			if (heavyPeers.has(peerId)) state.heavyAt = now;
			if (now - state.lossyAt < RELEASE_AFTER_MS) {
				const path = ownRttMs + (peerRttMs(peerId) ?? ownRttMs);
				const roundTrips = now - state.heavyAt < RELEASE_AFTER_MS ? Math.max(ROUND_TRIPS, this.options.heavyLossRoundTrips) : ROUND_TRIPS;
				const budget = this.options.latencyBudgetMs;
				const cap = budget > 0 ? Math.round(budget - path / 2 - PIPELINE_MS) : Infinity;
				const base = Math.round(ROUND_TRIPS * path + MARGIN_MS);
				const deep = Math.round(roundTrips * path + MARGIN_MS);
				const wanted = clamp(Math.max(base, Math.min(deep, cap)), MIN_TARGET_MS, MAX_TARGET_MS);
				// Raise at once; lower only by a clear step (avoid nudging the buffer every second).
				if (state.target === null || wanted > state.target || wanted < state.target - 40) state.target = wanted;
			} else {
				state.target = null;
			}
		}
		for (const peerId of this.peers.keys()) if (!peerIds.has(peerId)) this.peers.delete(peerId);

		for (const c of consumers) {
			if (c.closed || !c.rtpReceiver) continue;
			const target = this.peers.get(c.appData.peerId)?.target ?? null;
			if (this.applied.get(c.id) === target) continue;
			this.applied.set(c.id, target);
			try {
				(c.rtpReceiver as RTCRtpReceiver & { jitterBufferTarget: number | null }).jitterBufferTarget = target;
			} catch {
				// Not supported by this browser.
			}
		}
		for (const id of this.applied.keys()) if (!consumers.some((c) => c.id === id)) this.applied.delete(id);
	}

	/** The target applied to a consumer's receiver (null: the browser's default). */
	targetFor(consumerId: string): number | null {
		return this.applied.get(consumerId) ?? null;
	}

	reset(): void {
		this.counters.clear();
		this.peers.clear();
		this.applied.clear();
	}
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}
