/**
 * Media tuning switches, for measuring what each one is worth (e2e/loss.spec.ts compares
 * them). Defaults are what Parley ships; `localStorage['parley.tuning']` (JSON) overrides
 * them for experiments, e.g. `{"jitterBuffer":false,"opusNack":false}`.
 */
export interface Tuning {
	/** Raise receivers' jitterBufferTarget while a sender's media shows loss (receiverTuning.ts). */
	jitterBuffer: boolean;
	/** Negotiate NACK for Opus (retransmitted audio). */
	opusNack: boolean;
	/** Opus in-band FEC. */
	opusFec: boolean;
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
}

export const DEFAULT_TUNING: Tuning = {
	jitterBuffer: true,
	opusNack: true,
	opusFec: true,
	cameraDegradation: 'maintain-framerate',
	lowLayerFps: 15,
	uplinkGuard: false,
	heldLayerFps: 30,
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
