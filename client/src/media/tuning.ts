/**
 * Media tuning switches, for measuring what each one is worth (e2e/loss.spec.ts compares
 * them). Defaults are what Parley ships; `localStorage['parley.tuning']` (JSON) overrides
 * them for experiments, e.g. `{"jitterBuffer":false,"opusNack":false}`.
 */
export interface Tuning {
	/** Raise receivers' jitterBufferTarget while a sender's media shows loss (receiverTuning.ts). */
	jitterBuffer: boolean;
	/**
	 * Retransmission round trips that buffer covers while a sender's media shows heavy loss
	 * (over a quarter of the packets asked for again; two otherwise). 3 against 2 at 30% loss
	 * (bench:loss variants shipped/two-round-trips): less frozen video and concealed audio
	 * both ways, for up to one more round trip of playout delay while the loss lasts.
	 */
	heavyLossRoundTrips: number;
	/**
	 * Glass-to-glass budget (ms) within which the heavy-loss round trips are added
	 * (receiverTuning.ts; 0: no limit). 400: Parley's promise of under 400 ms mouth to ear.
	 */
	latencyBudgetMs: number;
	/** Negotiate NACK for Opus (retransmitted audio). */
	opusNack: boolean;
	/** Opus in-band FEC. */
	opusFec: boolean;
	/**
	 * Opus packet time (ms): longer packets carry less header and fewer retransmissions per
	 * second. 60 ms at 20 kbps (variant opus-lean) left more of a lossy sender's ~100 kbps to
	 * its video but concealed 8-17% of the audio at 30% loss: not shipped.
	 */
	opusPtime: number;
	/** Opus maxaveragebitrate (bps; 0: the browser's default, 32 kbps mono). */
	opusMaxAverageBitrate: number;
	/** The camera's degradationPreference (null: the browser's default, balanced). */
	cameraDegradation: RTCDegradationPreference | null;
	/** maxFramerate of the lowest simulcast layer. */
	lowLayerFps: number;
	/**
	 * Hold the camera to its lowest layer while its uplink is lossy (UplinkGuard.ts). Off: in
	 * the loss bench it stopped the layer flicker (the SFU then forwarded all it received) but
	 * did not cut the frozen time from a 30%-lossy sender, and 0/10% and the three-person call
	 * were not shown to be unharmed (bench/README.md, "Where the frames go").
	 */
	uplinkGuard: boolean;
	/** maxFramerate of the lowest layer while the guard holds the camera to it for heavy loss. */
	heldLayerFps: number;
	/**
	 * While over a fifth of the camera's packets are retransmissions, over 5 s of steady
	 * sending and in at least 3 of those seconds (a heavily lossy uplink, not a burst;
	 * e.g. 30% random loss: the send estimate has collapsed to ~100-250 kbps), the camera sends
	 * only its lowest layer, at this maxFramerate (a lost frame costs less at twice the frame
	 * rate); 0: off. Released 15 s after the loss. Unlike the uplink guard, nothing else holds
	 * the layers (not a bandwidth shortage alone); not triggered at 10% loss (~11% of the
	 * packets retransmitted there). `npm run bench:loss` variants shipped /
	 * no-lossy-fps: see bench/README.md.
	 */
	lossyLowLayerFps: number;
	/** After the media moved to another worker, the camera sends only its lowest layer this long (ms; 0: off). */
	movedLowLayerMs: number;
}

export const DEFAULT_TUNING: Tuning = {
	jitterBuffer: true,
	heavyLossRoundTrips: 3,
	latencyBudgetMs: 400,
	opusNack: true,
	opusFec: true,
	opusPtime: 20,
	opusMaxAverageBitrate: 0,
	cameraDegradation: 'maintain-framerate',
	lowLayerFps: 15,
	uplinkGuard: false,
	heldLayerFps: 30,
	lossyLowLayerFps: 30,
	movedLowLayerMs: 6000,
};

let cached: Tuning | null = null;

export function tuning(): Tuning {
	if (cached) return cached;
	let overrides: Partial<Tuning> = {};
	try {
		const raw = typeof localStorage === 'undefined' ? null : localStorage.getItem('parley.tuning');
		if (raw) overrides = JSON.parse(raw) as Partial<Tuning>;
	} catch {
		// No storage, or not JSON: the defaults.
	}
	cached = { ...DEFAULT_TUNING, ...overrides };
	return cached;
}
