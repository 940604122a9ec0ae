/**
 * Keeps a camera on its lowest simulcast layer while its uplink is lossy. Under heavy random
 * loss Chromium's send estimate collapses (84-218 kbps at 30% loss) and drops the upper
 * layers, but at the edge it turns the 640 px layer on and off again every few seconds; each
 * switch makes the SFU wait for a keyframe (which at 30% loss itself needs repairs) and the
 * viewers freeze (bench/README.md, "Where the frames go"). The guard watches the share of
 * the camera's packets that are retransmissions (about the uplink's loss: the SFU asks again
 * for every lost packet): above `enterRatio` over the last few samples it holds the camera
 * to layer 0, and lets the upper layers back only after the share stayed under `exitRatio`
 * for `releaseMs`. It also holds when the browser itself has suspended the second layer for
 * want of bandwidth over the whole window, leaving the lowest one alone (the estimate
 * collapses at 10% loss already, and a suspended layer is what flickers back on; the top
 * layer alone suspended is the estimate still ramping up, left to the browser): such a
 * hold lasts `holdMs`, doubled when it comes back soon after the last one. `heavyLoss` says
 * the share was above `enterRatio` within `releaseMs`: the caller then runs layer 0 at the
 * full frame rate (it is all there is; not for a hold for bandwidth alone, which three
 * people at 10% loss on this 2-core machine all get, and there 30 fps froze more).
 * Pure: the caller feeds it the sender's stats and applies the answer (Dynacast.cap).
 */

export interface UplinkSample {
	/** performance.now() of the sample (ms). */
	now: number;
	/** The camera's RTP packets sent so far, retransmissions included (all layers). */
	packetsSent: number;
	/** Of those, retransmissions. */
	retransmittedPacketsSent: number;
	/** The second layer (just above the lowest) is active, and the frames it has sent so far. */
	upperActive: boolean;
	upperFramesSent: number;
	/** The browser says the camera is limited by bandwidth. */
	bandwidthLimited: boolean;
}

export interface UplinkGuardOptions {
	/** Retransmitted share of the packets above which the uplink counts as lossy. */
	enterRatio: number;
	/** Share under which it counts as clean again. */
	exitRatio: number;
	/** Samples the share is judged over. */
	window: number;
	/** Fewer packets than this in the window: no judgement (the camera is barely sending). */
	minPackets: number;
	/**
	 * Fewer packets than this in any one interval of the window: no judgement either. A camera
	 * that has just started (again) sends its keyframes in a burst, and on a starved machine the
	 * SFU's socket can drop part of it; the repairs of that one burst, over a window that is
	 * mostly silence, read as heavy loss (on loopback with a busy CPU: the top layer stayed off
	 * after a hidden tile was shown again). Loss is judged over steady sending only.
	 */
	minSamplePackets: number;
	/**
	 * Heavy loss must also be spread: at least this many intervals of the window each with
	 * over `exitRatio` retransmitted (0: not required). Random loss is there every second; a
	 * starved SFU's socket drops a burst (measured on loopback with a busy CPU: 168 packets lost
	 * in one second, none in the seconds around it), which one window's sum can read as heavy.
	 */
	spreadSamples: number;
	/** How long the uplink must stay clean before the upper layers come back (ms). */
	releaseMs: number;
	/** Hold after the browser suspended an upper layer (ms); doubled up to maxHoldMs when it recurs within maxHoldMs. */
	holdMs: number;
	maxHoldMs: number;
}

export const UPLINK_GUARD_DEFAULTS: UplinkGuardOptions = {
	enterRatio: 0.15,
	exitRatio: 0.06,
	window: 3,
	// ~13 packets a second is what the lowest layer sends when the estimate has collapsed.
	minPackets: 20,
	minSamplePackets: 5,
	spreadSamples: 0,
	releaseMs: 15_000,
	holdMs: 20_000,
	maxHoldMs: 80_000,
};

export class UplinkGuard {
	readonly #options: UplinkGuardOptions;
	#previous: UplinkSample | null = null;
	/** Per-interval [packets, retransmissions, an upper layer suspended (0/1)] of the last `window` samples. */
	readonly #history: [number, number, number][] = [];
	#held = false;
	/** When the share was last above exitRatio while held (ms). */
	#lossyAt = -Infinity;
	/** When the share was last above enterRatio (ms). */
	#heavyAt = -Infinity;
	#now = 0;
	/** A hold for a suspended layer lasts until then at least (ms). */
	#holdUntil = -Infinity;
	#hold: number;
	#releasedAt = -Infinity;

	constructor(options: Partial<UplinkGuardOptions> = {}) {
		this.#options = { ...UPLINK_GUARD_DEFAULTS, ...options };
		this.#hold = this.#options.holdMs;
	}

	/** Held to the lowest layer. */
	get held(): boolean {
		return this.#held;
	}

	/** Held, and the uplink's loss was heavy within the release time. */
	get heavyLoss(): boolean {
		return this.#held && this.#now - this.#heavyAt < this.#options.releaseMs;
	}

	/**
	 * The share was above `enterRatio` within `releaseMs`, held or not (for the lowest layer's
	 * frame rate alone, tuning `lossyLowLayerFps`).
	 */
	get lossy(): boolean {
		return this.#now - this.#heavyAt < this.#options.releaseMs;
	}

	/** One sample (~1 s apart); answers whether the camera is held to its lowest layer. */
	update(sample: UplinkSample): boolean {
		const o = this.#options;
		this.#now = sample.now;
		const previous = this.#previous;
		this.#previous = sample;
		// Counters going back: a new sender (camera switched, session restarted).
		if (!previous || sample.packetsSent < previous.packetsSent) {
			this.#history.length = 0;
			return this.#held;
		}
		const suspended = sample.bandwidthLimited && sample.upperActive && previous.upperActive && sample.upperFramesSent === previous.upperFramesSent;
		this.#history.push([
			sample.packetsSent - previous.packetsSent,
			Math.max(0, sample.retransmittedPacketsSent - previous.retransmittedPacketsSent),
			suspended ? 1 : 0,
		]);
		if (this.#history.length > o.window) this.#history.shift();
		const [packets, rtx, suspendedSamples] = this.#history.reduce(([p, r, s], [dp, dr, ds]) => [p + dp, r + dr, s + ds], [0, 0, 0]);
		if (packets < o.minPackets) return this.#held;
		const full = this.#history.length >= o.window && this.#history.every(([dp]) => dp >= o.minSamplePackets);
		const ratio = rtx / packets;
		const spread = this.#history.filter(([dp, dr]) => dr > o.exitRatio * dp).length >= o.spreadSamples;
		const heavy = full && spread && ratio > o.enterRatio;
		if (heavy) this.#heavyAt = sample.now;
		if (!this.#held) {
			if (heavy) {
				this.#held = true;
				this.#lossyAt = sample.now;
			} else if (full && suspendedSamples === o.window) {
				this.#held = true;
				// Soon after the last hold: the link is still short of bandwidth, hold longer.
				this.#hold = sample.now - this.#releasedAt < o.maxHoldMs ? Math.min(o.maxHoldMs, this.#hold * 2) : o.holdMs;
				this.#holdUntil = sample.now + this.#hold;
			}
		} else {
			if (ratio > o.exitRatio) this.#lossyAt = sample.now;
			if (sample.now - this.#lossyAt >= o.releaseMs && sample.now >= this.#holdUntil) {
				this.#held = false;
				this.#releasedAt = sample.now;
				this.#history.length = 0;
			}
		}
		return this.#held;
	}

	reset(): void {
		this.#previous = null;
		this.#history.length = 0;
		this.#held = false;
		this.#lossyAt = -Infinity;
		this.#heavyAt = -Infinity;
		this.#holdUntil = -Infinity;
		this.#hold = this.#options.holdMs;
		this.#releasedAt = -Infinity;
	}
}

/**
 * The camera's send counters from its sender's stats (all simulcast layers summed; the
 * second layer is rid "r1", as mediasoup-client names the encodings r0, r1, r2).
 */
export function uplinkSample(report: RTCStatsReport, now: number, secondRid = 'r1'): UplinkSample {
	const sample: UplinkSample = { now, packetsSent: 0, retransmittedPacketsSent: 0, upperActive: false, upperFramesSent: 0, bandwidthLimited: false };
	report.forEach((entry: Record<string, unknown>) => {
		if (entry.type !== 'outbound-rtp' || entry.kind !== 'video') return;
		sample.packetsSent += Number(entry.packetsSent ?? 0);
		sample.retransmittedPacketsSent += Number(entry.retransmittedPacketsSent ?? 0);
		if (entry.qualityLimitationReason === 'bandwidth') sample.bandwidthLimited = true;
		if (entry.rid === secondRid && entry.active !== false) {
			sample.upperActive = true;
			sample.upperFramesSent = Number(entry.framesSent ?? 0);
		}
	});
	return sample;
}
