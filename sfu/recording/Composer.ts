/**
 * The composed file of a recording, for people to watch: every recorded video placed at
 * its start in a grid (one cell per person's camera or screen), every audio part delayed
 * to its start and mixed (by its timestamps: silence where they jump, as Opus DTX leaves
 * them while someone is quiet), in one MP4 (H.264 + AAC). A part's start is when its first
 * frame was captured by the sender (`capturedAt`, from RTCP sender reports: audio and video
 * of one person line up) or, when that is not known, when recording of it began on the
 * server's clock (`startedAt`). Made by one ffmpeg
 * process in the background (low priority); `progress` events give the fraction done
 * (ffmpeg's `-progress` output time over the recording's length).
 *
 * close() is idempotent: it stops a composition in progress (the partial file is removed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export interface ComposerPart {
	file: string;
	/** Whose and which track: video parts of one track share a grid cell. */
	track: string;
	kind: 'audio' | 'video';
	/** Wall clock (ms since the epoch) when recording of the part began and ended. */
	startedAt: number;
	endedAt: number;
	/** When the part's first frame was captured (ms since the epoch, the server's clock), if known. */
	capturedAt?: number | null | undefined;
}

/** An audio part's timestamps jumping by more than this (s) are filled with silence (a lost or DTX-skipped 20 ms frame and up). */
const MIN_GAP_S = 0.015;

/** Where a part goes on the composed file's timeline (ms since the epoch). */
export function partStart(p: ComposerPart): number {
	return p.capturedAt ?? p.startedAt;
}

/** The grid's cells, in order: `count` cells in a W×H picture (even sizes). */
export function gridCells(count: number, W: number, H: number): { x: number; y: number; w: number; h: number }[] {
	const cols = Math.max(1, Math.ceil(Math.sqrt(count)));
	const rows = Math.max(1, Math.ceil(count / cols));
	const w = 2 * Math.floor(W / cols / 2);
	const h = 2 * Math.floor(H / rows / 2);
	return Array.from({ length: count }, (_, cell) => ({ x: (cell % cols) * w, y: Math.floor(cell / cols) * h, w, h }));
}

export interface ComposerOptions {
	ffmpegPath: string;
	dir: string;
	parts: ComposerPart[];
	/** Output file name in `dir`. */
	output: string;
	log: Logger;
	/** Size of the whole grid (default 1280x720). */
	width?: number;
	height?: number;
}

export type ComposerEvents = {
	progress: [fraction: number];
};

export class Composer extends EventEmitter<ComposerEvents> {
	readonly done: Promise<void>;
	readonly durationSec: number;
	#child: ChildProcess | undefined;
	#closed = false;

	constructor(options: ComposerOptions) {
		super();
		const { parts } = options;
		const t0 = Math.min(...parts.map(partStart));
		const t1 = Math.max(...parts.map((p) => p.endedAt + partStart(p) - p.startedAt));
		this.durationSec = Math.max(0.1, (t1 - t0) / 1000);
		this.done = this.#run(options, t0);
	}

	async #run(options: ComposerOptions, t0: number): Promise<void> {
		const { parts, dir, log } = options;
		const W = options.width ?? 1280;
		const H = options.height ?? 720;
		const videos = parts.filter((p) => p.kind === 'video');
		const audios = parts.filter((p) => p.kind === 'audio');
		const tracks = [...new Set(videos.map((p) => p.track))];
		const cells = gridCells(tracks.length, W, H);
		const d = this.durationSec.toFixed(3);
		const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-nostats'];
		// A simulcast layer change changes the size mid-file: the scale filter follows it (the
		// default, rebuilding the whole graph, would restart the grid's clock).
		for (const p of parts) args.push('-reinit_filter', '0', '-i', path.join(dir, p.file));
		const filters: string[] = [`color=c=black:s=${W}x${H}:r=30:d=${d}[base0]`];
		let base = 'base0';
		videos.forEach((p, n) => {
			const i = parts.indexOf(p);
			const { x, y, w: cw, h: ch } = cells[tracks.indexOf(p.track)]!;
			const offset = ((partStart(p) - t0) / 1000).toFixed(3);
			filters.push(
				// Timestamps from the part's offset (the files' own start is not 0 for the filters), then
				// onto the grid's 30 fps ticks (each frame to the nearest tick: ±17 ms). Offsetting after
				// fps=30 cut the offset down to a whole tick: the video came 0–33 ms early.
				`[${i}:v]setpts=PTS-STARTPTS+${offset}/TB,scale=${cw}:${ch}:force_original_aspect_ratio=decrease,pad=${cw}:${ch}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30[v${n}]`,
				`[${base}][v${n}]overlay=${x}:${y}:eof_action=pass[base${n + 1}]`,
			);
			base = `base${n + 1}`;
		});
		const maps = ['-map', `[${base}]`];
		if (audios.length > 0) {
			audios.forEach((p, n) => {
				const i = parts.indexOf(p);
				const delay = Math.max(0, Math.round(partStart(p) - t0));
				// async: silence where the file's timestamps jump (Opus DTX sends nothing while someone is
				// quiet: a browser's microphone file has gaps), else the audio after each gap comes early.
				filters.push(`[${i}:a]aresample=48000:async=1:min_hard_comp=${MIN_GAP_S},asetpts=PTS-STARTPTS,adelay=${delay}:all=1[a${n}]`);
			});
			filters.push(`${audios.map((_, n) => `[a${n}]`).join('')}amix=inputs=${audios.length}:normalize=0:dropout_transition=0,apad,atrim=0:${d}[aout]`);
			maps.push('-map', '[aout]', '-c:a', 'aac', '-b:a', '128k');
		}
		const tmp = path.join(dir, `${options.output}.part.mp4`);
		args.push('-filter_complex', filters.join(';'), ...maps, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-pix_fmt', 'yuv420p', '-t', d, '-movflags', '+faststart', '-y', tmp);
		const child = spawn('nice', ['-n', '10', options.ffmpegPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
		this.#child = child;
		let stderr = '';
		child.stderr?.setEncoding('utf8');
		child.stderr?.on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
		child.stdout?.setEncoding('utf8');
		child.stdout?.on('data', (chunk: string) => {
			const m = /out_time_us=(\d+)/g;
			let last: RegExpExecArray | null = null;
			for (let r = m.exec(chunk); r; r = m.exec(chunk)) last = r;
			if (last) this.emit('progress', Math.min(1, Number(last[1]) / 1e6 / this.durationSec));
		});
		const code = await new Promise<number | null>((resolve) => {
			child.once('error', () => resolve(-1));
			child.once('close', (c) => resolve(c));
		});
		if (code !== 0 || this.#closed) {
			await rm(tmp, { force: true });
			if (this.#closed) throw new Error('composition cancelled');
			log.error({ code, stderr: stderr.trim().slice(-800) }, 'composition failed');
			throw new Error(`ffmpeg exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
		}
		await rename(tmp, path.join(dir, options.output));
		this.emit('progress', 1);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#child?.kill('SIGKILL');
	}
}
