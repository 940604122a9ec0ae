/**
 * Finds the bots' sync markers (bench/bot/media.ts: a white flash and a 1 kHz beep at the
 * same moments of the clip) in recorded or composed files, to measure audio/video drift.
 *
 * - flashes: the mean luma of every decoded frame (ffmpeg's signalstats, optionally of one
 *   grid cell); a flash starts at a frame brighter than halfway between the picture's
 *   median and its brightest frame, after a darker one.
 * - beeps: the RMS of the decoded audio in 5 ms windows (mono, 16 kHz); a beep starts at a
 *   window louder than BEEP_RMS after ≥ 100 ms below it.
 *
 * Times are seconds from the start of the file's stream, the way ffmpeg (and the Composer's
 * `setpts=PTS-STARTPTS`) counts them. Drift = beep − flash: positive when the sound is late.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** RMS (full scale 1) above which a window is a beep: the clip's beep is ~0.42, its background ~0.04 (four people mixed ~0.1). */
export const BEEP_RMS = 0.2;
const WINDOW_S = 0.005;
const RATE = 16000;
const QUIET_BEFORE_S = 0.1;
/** Flashes need this much luma (0-255) above the picture's median to count. */
const MIN_FLASH_RISE = 50;

export interface Crop {
	w: number;
	h: number;
	x: number;
	y: number;
}

/** Mean luma and time of every decoded video frame. */
export async function lumaPerFrame(file: string, crop?: Crop): Promise<{ t: number; y: number }[]> {
	const vf = `${crop ? `crop=${crop.w}:${crop.h}:${crop.x}:${crop.y},` : ''}signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`;
	const { stdout } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0', '-vf', vf, '-fps_mode', 'passthrough', '-f', 'null', '-'], {
		maxBuffer: 64 << 20,
	});
	const out: { t: number; y: number }[] = [];
	let t = NaN;
	for (const line of stdout.split('\n')) {
		const m = /pts_time:(-?[\d.]+)/.exec(line);
		if (m) t = Number(m[1]);
		const v = /YAVG=([\d.]+)/.exec(line);
		if (v && Number.isFinite(t)) out.push({ t, y: Number(v[1]) });
	}
	return out;
}

/** When each flash starts (s). */
export async function flashTimes(file: string, crop?: Crop): Promise<number[]> {
	return flashOnsets(await lumaPerFrame(file, crop));
}

export function flashOnsets(frames: { t: number; y: number }[]): number[] {
	return flashFrames(frames).map((f) => f.t);
}

/**
 * Each flash's first bright frame (s) and the time since the frame before it (s): the flash
 * began within that interval before the frame (at a low frame rate the frame can come well
 * after the flash's onset).
 */
export function flashFrames(frames: { t: number; y: number }[]): { t: number; sincePrevious: number }[] {
	if (frames.length < 3) return [];
	const sorted = frames.map((f) => f.y).sort((a, b) => a - b);
	const median = sorted[Math.floor(sorted.length / 2)]!;
	const max = sorted.at(-1)!;
	if (max - median < MIN_FLASH_RISE) return [];
	const threshold = (median + max) / 2;
	const onsets: { t: number; sincePrevious: number }[] = [];
	for (let i = 1; i < frames.length; i++) if (frames[i]!.y > threshold && frames[i - 1]!.y <= threshold) onsets.push({ t: frames[i]!.t, sincePrevious: frames[i]!.t - frames[i - 1]!.t });
	return onsets;
}

/** When each beep starts (s from the audio stream's start). */
export async function beepTimes(file: string): Promise<number[]> {
	// By the timestamps: silence where they jump (Opus DTX: a browser sends nothing while quiet), else the samples after a gap count early.
	const { stdout } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-map', '0:a:0', '-af', 'aresample=async=1:min_hard_comp=0.015', '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-'], {
		encoding: 'buffer',
		maxBuffer: 256 << 20,
	});
	const samples = new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2));
	return beepOnsets(samples, RATE);
}

export function beepOnsets(samples: Int16Array, rate: number): number[] {
	const n = Math.round(WINDOW_S * rate);
	const quietWindows = Math.round(QUIET_BEFORE_S / WINDOW_S);
	const onsets: number[] = [];
	let quiet = quietWindows; // the file's start counts as quiet
	for (let w = 0; (w + 1) * n <= samples.length; w++) {
		let sum = 0;
		for (let i = w * n; i < (w + 1) * n; i++) sum += (samples[i]! / 32768) ** 2;
		const loud = Math.sqrt(sum / n) > BEEP_RMS;
		if (loud && quiet >= quietWindows) onsets.push((w * n) / rate);
		quiet = loud ? 0 : quiet + 1;
	}
	return onsets;
}

export interface MarkerDrift {
	/** Flash time (s, on the timeline the drift was measured on). */
	flash: number;
	/** Beep − flash (ms). */
	driftMs: number;
}

/**
 * Pair each flash with the nearest beep (within half a marker period) and give the drift.
 * Flashes with no beep near are left out (a part that starts or ends between the two).
 */
export function pairMarkers(flashes: number[], beeps: number[], periodSec = 2): MarkerDrift[] {
	const out: MarkerDrift[] = [];
	for (const f of flashes) {
		let best: number | undefined;
		for (const b of beeps) if (best === undefined || Math.abs(b - f) < Math.abs(best - f)) best = b;
		if (best !== undefined && Math.abs(best - f) < periodSec / 2) out.push({ flash: f, driftMs: (best - f) * 1000 });
	}
	return out;
}

export interface DriftSummary {
	markers: number;
	medianMs: number | null;
	maxAbsMs: number | null;
}

export function summarize(drifts: MarkerDrift[]): DriftSummary {
	if (drifts.length === 0) return { markers: 0, medianMs: null, maxAbsMs: null };
	const sorted = drifts.map((d) => d.driftMs).sort((a, b) => a - b);
	const mid = sorted.length / 2;
	const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
	return { markers: sorted.length, medianMs: round1(median), maxAbsMs: round1(Math.max(...sorted.map(Math.abs))) };
}

function round1(n: number): number {
	return Math.round(n * 10) / 10;
}
