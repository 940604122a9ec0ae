/**
 * In-page code of bench/recording/browser-drift.ts (passed to Playwright's addInitScript /
 * evaluate: every function is self-contained, no closures over module scope; the root
 * tsconfig has no DOM library, so the browser shapes used are declared structurally).
 *
 * getUserMedia is replaced: video = canvas.captureStream(fps) of a dark canvas that turns
 * white for `flashMs` at each marker, audio = a 1 kHz WebAudio oscillator through a
 * MediaStreamAudioDestinationNode whose gain is 0 except for `beepMs` at each marker.
 * Markers are at wall-clock moments `k·periodMs + phaseMs` (ms since the epoch: all pages of
 * one machine share that clock, so participants' markers can be staggered). Both come from
 * the audio clock: each beep is scheduled on the AudioContext's clock (mapped from the wall
 * clock just before), and the canvas turns white at the first animation frame at which the
 * AudioContext's `currentTime` has reached the beep's start. What each flash was drawn
 * against (the audio clock at that moment) is logged, with pairs of both clocks.
 */

export interface MarkerOptions {
	periodMs: number;
	phaseMs: number;
	beepMs: number;
	flashMs: number;
	/** Beep amplitude (full scale 1). */
	beepGain: number;
	/** Amplitude of a steady 300 Hz hum under the beeps (0: silence between beeps, as a quiet microphone). */
	hum: number;
	width: number;
	height: number;
	fps: number;
}

export interface FlashLog {
	/** Marker moment (wall clock, ms since the epoch). */
	wallMs: number;
	/** The beep's start on the audio clock (s). */
	beepAt: number;
	/** The audio clock when the white frame was drawn (s). */
	drawnAtAudio: number;
	/** The wall clock when the white frame was drawn (ms since the epoch). */
	drawnAtWall: number;
}

export interface ClockPair {
	/** timeOrigin + performance.now() (ms). */
	wall: number;
	/** AudioContext.currentTime (s). */
	audio: number;
	/** getOutputTimestamp(): the audio clock (s) and when it is output (performance.now(), ms). */
	outContext: number;
	outPerf: number;
}

export interface MarkerState {
	flashes: FlashLog[];
	/** Beeps scheduled: wall-clock moment and audio-clock start. */
	beeps: { wallMs: number; at: number }[];
	pairs: ClockPair[];
	draws: number;
	audioState: string;
	sampleRate: number;
	baseLatency: number;
	outputLatency: number;
	errors: string[];
}

interface TrackLike {
	kind: string;
	stop(): void;
	clone(): TrackLike;
}

interface StreamLike {
	getTracks(): TrackLike[];
	getAudioTracks(): TrackLike[];
	getVideoTracks(): TrackLike[];
}

interface Ctx2D {
	fillStyle: string;
	fillRect(x: number, y: number, w: number, h: number): void;
}

interface CanvasEl {
	width: number;
	height: number;
	getContext(kind: '2d', options?: { alpha?: boolean }): Ctx2D | null;
	captureStream(fps: number): StreamLike;
}

interface AudioParamLike {
	value: number;
	setValueAtTime(value: number, at: number): void;
}

interface AudioNodeLike {
	connect(node: AudioNodeLike): void;
}

interface OscillatorLike extends AudioNodeLike {
	frequency: AudioParamLike;
	start(): void;
}

interface GainLike extends AudioNodeLike {
	gain: AudioParamLike;
}

interface DestinationLike extends AudioNodeLike {
	stream: StreamLike;
}

interface AudioContextLike {
	currentTime: number;
	sampleRate: number;
	state: string;
	baseLatency?: number;
	outputLatency?: number;
	resume(): Promise<void>;
	getOutputTimestamp(): { contextTime?: number; performanceTime?: number };
	createOscillator(): OscillatorLike;
	createGain(): GainLike;
	createMediaStreamDestination(): DestinationLike;
}

interface PageWindow {
	document: { createElement(tag: 'canvas'): CanvasEl };
	navigator: { mediaDevices?: { getUserMedia(constraints: { audio?: unknown; video?: unknown }): Promise<StreamLike> } };
	MediaStream: new (tracks: TrackLike[]) => StreamLike;
	AudioContext: new (options?: { sampleRate?: number; latencyHint?: string }) => AudioContextLike;
	performance: { timeOrigin: number; now(): number };
	requestAnimationFrame(callback: (t: number) => void): number;
	setInterval(callback: () => void, ms: number): number;
	addEventListener(type: string, listener: () => void): void;
	__driftMarkers?: MarkerState;
}

/** Init script: getUserMedia gives the marker camera and microphone (one canvas, one audio graph per page). */
export function installMarkerMedia(o: MarkerOptions): void {
	const g = globalThis as unknown as PageWindow;
	const devices = g.navigator.mediaDevices;
	if (!devices || g.__driftMarkers) return;
	const state: MarkerState = { flashes: [], beeps: [], pairs: [], draws: 0, audioState: 'none', sampleRate: 0, baseLatency: 0, outputLatency: 0, errors: [] };
	g.__driftMarkers = state;
	const wallNow = (): number => g.performance.timeOrigin + g.performance.now();
	let media: { ctx: AudioContextLike; audio: TrackLike; canvas: CanvasEl } | null = null;

	const start = (): { ctx: AudioContextLike; audio: TrackLike; canvas: CanvasEl } => {
		const ctx = new g.AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
		void ctx.resume().catch((e: unknown) => state.errors.push(`resume: ${String(e)}`));
		// A user gesture (the join click) resumes it too, should the autoplay policy hold it.
		g.addEventListener('pointerdown', () => void ctx.resume().catch(() => undefined));
		const dest = ctx.createMediaStreamDestination();
		const osc = ctx.createOscillator();
		osc.frequency.value = 1000;
		const gain = ctx.createGain();
		gain.gain.value = 0;
		osc.connect(gain);
		gain.connect(dest);
		osc.start();
		if (o.hum > 0) {
			const hum = ctx.createOscillator();
			hum.frequency.value = 300;
			const humGain = ctx.createGain();
			humGain.gain.value = o.hum;
			hum.connect(humGain);
			humGain.connect(dest);
			hum.start();
		}
		state.sampleRate = ctx.sampleRate;

		// Beeps: scheduled on the audio clock up to 1.5 s ahead, each mapped from the wall clock just before.
		let scheduledUpTo = 0;
		const schedule = (): void => {
			state.audioState = ctx.state;
			state.baseLatency = ctx.baseLatency ?? 0;
			state.outputLatency = ctx.outputLatency ?? 0;
			if (ctx.state !== 'running') return;
			const out = ctx.getOutputTimestamp();
			const wall = wallNow();
			const audio = ctx.currentTime;
			if (state.pairs.length < 2000) state.pairs.push({ wall, audio, outContext: out.contextTime ?? NaN, outPerf: out.performanceTime ?? NaN });
			let k = Math.ceil((Math.max(wall + 100, scheduledUpTo + 1) - o.phaseMs) / o.periodMs);
			for (let w = k * o.periodMs + o.phaseMs; w < wall + 1500; k++, w = k * o.periodMs + o.phaseMs) {
				const at = audio + (w - wall) / 1000;
				gain.gain.setValueAtTime(o.beepGain, at);
				gain.gain.setValueAtTime(0, at + o.beepMs / 1000);
				state.beeps.push({ wallMs: w, at });
				scheduledUpTo = w;
			}
		};
		g.setInterval(schedule, 250);
		schedule();

		// Video: white from the first frame at which the audio clock has reached a beep, for flashMs; dark otherwise.
		const canvas = g.document.createElement('canvas');
		canvas.width = o.width;
		canvas.height = o.height;
		const c2d = canvas.getContext('2d', { alpha: false });
		if (!c2d) throw new Error('no 2d context');
		const period = 1000 / o.fps;
		let next = 0;
		let white = false;
		let x = 0;
		const tick = (): void => {
			const now = g.performance.now();
			const audio = ctx.currentTime;
			const beep = state.beeps.find((b) => audio >= b.at && audio < b.at + o.flashMs / 1000);
			const wantWhite = beep !== undefined;
			if (wantWhite !== white || now >= next) {
				next = now - next > period ? now + period : next + period;
				if (wantWhite && !white && beep) state.flashes.push({ wallMs: beep.wallMs, beepAt: beep.at, drawnAtAudio: audio, drawnAtWall: g.performance.timeOrigin + now });
				white = wantWhite;
				c2d.fillStyle = white ? '#ffffff' : '#141414';
				c2d.fillRect(0, 0, o.width, o.height);
				// A small moving square at the bottom edge, so that frames differ (the detector looks at the middle).
				c2d.fillStyle = '#606060';
				x = (x + 8) % (o.width - 40);
				c2d.fillRect(x, o.height - 48, 40, 40);
				state.draws++;
			}
			g.requestAnimationFrame(tick);
		};
		g.requestAnimationFrame(tick);
		return { ctx, audio: dest.stream.getAudioTracks()[0]!, canvas };
	};

	devices.getUserMedia = async (constraints: { audio?: unknown; video?: unknown }): Promise<StreamLike> => {
		media ??= start();
		const tracks: TrackLike[] = [];
		if (constraints.audio) tracks.push(media.audio.clone());
		if (constraints.video) tracks.push(media.canvas.captureStream(o.fps).getVideoTracks()[0]!);
		return new g.MediaStream(tracks);
	};
}

export function readMarkers(): MarkerState | null {
	return (globalThis as unknown as PageWindow).__driftMarkers ?? null;
}
