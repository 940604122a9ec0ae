/**
 * Audio levels of local and remote tracks, computed in the page with Web Audio: one shared
 * AudioContext, one AnalyserNode per track, one timer for all of them (20 Hz), and
 * subscribers that get a 0..1 level (fast attack, slow release) without React re-renders.
 *
 * Remote WebRTC tracks only carry samples into Web Audio while they also play in a media
 * element, which RemoteAudio does.
 */

type Listener = (level: number) => void;

interface Meter {
	source: MediaStreamAudioSourceNode;
	analyser: AnalyserNode;
	data: Float32Array<ArrayBuffer>;
	level: number;
	listeners: Set<Listener>;
}

const TICK_MS = 50;
/** Levels map dBFS in [FLOOR_DB, CEIL_DB] to 0..1. */
const FLOOR_DB = -60;
const CEIL_DB = -12;
const RELEASE = 0.8;

let context: AudioContext | null = null;
let resumeListening = false;
const meters = new Map<MediaStreamTrack, Meter>();
let timer: ReturnType<typeof setInterval> | null = null;
let closeTimer: ReturnType<typeof setTimeout> | null = null;
/** The shared AudioContext outlives its last meter this long. */
const CLOSE_AFTER_MS = 5000;

function audioContext(): AudioContext | null {
	if (typeof AudioContext === 'undefined') return null;
	if (closeTimer) clearTimeout(closeTimer);
	closeTimer = null;
	if (!context) {
		context = new AudioContext({ latencyHint: 'playback' });
		if (!resumeListening) {
			// Created before any click (autoplay policy): start on the next interaction.
			resumeListening = true;
			const resume = (): void => {
				if (context?.state === 'suspended') void context.resume().catch(() => {});
			};
			for (const type of ['pointerdown', 'keydown'] as const) window.addEventListener(type, resume, { capture: true });
		}
	}
	if (context.state === 'suspended') void context.resume().catch(() => {});
	return context;
}

function tick(): void {
	for (const [track, meter] of meters) {
		let target = 0;
		if (track.enabled && track.readyState === 'live' && !track.muted) {
			meter.analyser.getFloatTimeDomainData(meter.data);
			let sum = 0;
			for (const v of meter.data) sum += v * v;
			const rms = Math.sqrt(sum / meter.data.length);
			const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
			target = Math.min(1, Math.max(0, (db - FLOOR_DB) / (CEIL_DB - FLOOR_DB)));
		}
		meter.level = target > meter.level ? target : meter.level * RELEASE;
		if (meter.level < 0.01) meter.level = 0;
		for (const listener of meter.listeners) listener(meter.level);
	}
}

/** Meters start this long after they are asked for at most (sooner if the page is idle). */
const START_WITHIN_MS = 1000;

/**
 * Follow a track's level; returns the unsubscribe function. The meter starts once the page
 * is idle (within START_WITHIN_MS): a meter costs the page's thread a Web Audio source and
 * analyser (10-50 ms on a loaded machine, the AudioContext more), and the call page's meters
 * are asked for while the first remote frames are on their way (e2e/join-timing.spec.ts).
 */
export function subscribeAudioLevel(track: MediaStreamTrack, listener: Listener): () => void {
	let stop: (() => void) | null = null;
	let cancelled = false;
	const start = (): void => {
		if (!cancelled) stop = startMeter(track, listener);
	};
	const idle = typeof requestIdleCallback === 'function' ? requestIdleCallback(start, { timeout: START_WITHIN_MS }) : null;
	const timer = idle === null ? setTimeout(start, 0) : null;
	return () => {
		cancelled = true;
		if (idle !== null) cancelIdleCallback(idle);
		if (timer !== null) clearTimeout(timer);
		stop?.();
	};
}

function startMeter(track: MediaStreamTrack, listener: Listener): () => void {
	let meter = meters.get(track);
	if (!meter) {
		const ctx = audioContext();
		if (!ctx) return () => {};
		let source: MediaStreamAudioSourceNode;
		try {
			source = ctx.createMediaStreamSource(new MediaStream([track]));
		} catch {
			return () => {};
		}
		const analyser = ctx.createAnalyser();
		analyser.fftSize = 512;
		analyser.smoothingTimeConstant = 0;
		source.connect(analyser);
		meter = { source, analyser, data: new Float32Array(analyser.fftSize), level: 0, listeners: new Set() };
		meters.set(track, meter);
	}
	meter.listeners.add(listener);
	timer ??= setInterval(tick, TICK_MS);
	const own = meter;
	return () => {
		own.listeners.delete(listener);
		if (own.listeners.size > 0) return;
		own.source.disconnect();
		meters.delete(track);
		if (meters.size === 0) {
			if (timer) clearInterval(timer);
			timer = null;
			// Nothing to meter (e.g. the call ended): release the audio device, a moment later: from
			// the lobby to the call the meters go and come back at once, and a new AudioContext costs
			// the page 40-60 ms (a loaded machine) on the join's critical path.
			closeTimer ??= setTimeout(() => {
				closeTimer = null;
				if (meters.size > 0) return;
				void context?.close().catch(() => {});
				context = null;
			}, CLOSE_AFTER_MS);
		}
	};
}
