/**
 * Pre-encoded media for the bots: generated once with Debian's ffmpeg into a cache
 * directory (bench/.media/ by default), then loaded as frames that the bots loop.
 *
 * - video: VP8 in IVF, 30 fps, a keyframe every 2 s (aligned in all three layers):
 *   layer 0 320x180 ~150 kbps, layer 1 640x360 ~500 kbps (also the single-layer
 *   stream), layer 2 1280x720 ~1.2 Mbps. A dimmed test pattern with a white flash.
 * - audio: Opus in Ogg, 20 ms frames, ~32 kbps, quiet pink noise plus a low tone (no two
 *   packets alike), with a loud beep.
 *
 * Sync markers: the flash (whole picture white) and the beep (1 kHz) start at the same
 * moments of the clip, SYNC_MARKER.atSec into every SYNC_MARKER.periodSec, and last
 * SYNC_MARKER.lengthSec, so a recording's audio/video drift can be measured from its files
 * (bench/lib/syncMarkers.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DEFAULT_MEDIA_DIR = path.join(import.meta.dirname, '..', '.media');
/** Bump when the generation parameters change (the cache key). */
const MEDIA_VERSION = 'v2';
export const LOOP_SECONDS = 10;
export const VIDEO_FPS = 30;
/** Where the flash and the beep are in the clip (seconds). */
export const SYNC_MARKER = { periodSec: 2, atSec: 1, lengthSec: 0.1 } as const;

export interface VideoFrame {
	data: Buffer;
	keyframe: boolean;
	/** Frame index in the loop (0..frames-1). */
	index: number;
}

export interface VideoLayer {
	width: number;
	height: number;
	kbps: number;
	frames: VideoFrame[];
}

export interface MediaSet {
	/** Simulcast layers, lowest first; layers[1] is also the single-layer stream. */
	layers: VideoLayer[];
	/** Opus packets, 20 ms each. */
	opus: Buffer[];
}

const LAYERS = [
	{ width: 320, height: 180, kbps: 150 },
	{ width: 640, height: 360, kbps: 500 },
	{ width: 1280, height: 720, kbps: 1200 },
] as const;

function layerFile(dir: string, i: number): string {
	return path.join(dir, `${MEDIA_VERSION}-vp8-l${i}.ivf`);
}
function audioFile(dir: string): string {
	return path.join(dir, `${MEDIA_VERSION}-opus.ogg`);
}

/** Generate the media files with ffmpeg unless they are cached. */
export async function ensureMedia(dir = DEFAULT_MEDIA_DIR): Promise<void> {
	mkdirSync(dir, { recursive: true });
	const want = [...LAYERS.map((_, i) => layerFile(dir, i)), audioFile(dir)];
	if (want.every((f) => existsSync(f))) return;
	const tmp = want.map((f) => `${f}.tmp${path.extname(f)}`);
	const gop = VIDEO_FPS * 2;
	const videoArgs = LAYERS.flatMap((l, i) => [
		'-map',
		`[v${i}]`,
		'-c:v',
		'libvpx',
		'-b:v',
		`${l.kbps}k`,
		'-minrate',
		`${l.kbps}k`,
		'-maxrate',
		`${l.kbps}k`,
		'-bufsize',
		`${l.kbps / 2}k`,
		'-deadline',
		'realtime',
		'-cpu-used',
		'8',
		'-lag-in-frames',
		'0',
		'-auto-alt-ref',
		'0',
		'-error-resilient',
		'1',
		'-g',
		String(gop),
		'-keyint_min',
		String(gop),
		'-force_key_frames',
		`expr:eq(mod(n,${gop}),0)`,
		'-f',
		'ivf',
		tmp[i]!,
	]);
	const { periodSec, atSec, lengthSec } = SYNC_MARKER;
	// The frames whose time t has atSec <= t mod periodSec < atSec + lengthSec (3 frames at 30 fps).
	const flash = `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(mod(t,${periodSec}),${atSec},${atSec + lengthSec - 0.5 / VIDEO_FPS})'`;
	const split = `[0:v]lutyuv=y=val*0.4,${flash},split=3[a][b][c];[a]scale=320:180[v0];[b]scale=640:360[v1];[c]null[v2]`;
	try {
		await run(
			'ffmpeg',
			[
				'-hide_banner',
				'-loglevel',
				'error',
				'-y',
				'-f',
				'lavfi',
				'-t',
				String(LOOP_SECONDS),
				'-i',
				`testsrc2=size=1280x720:rate=${VIDEO_FPS}`,
				'-filter_complex',
				split,
				...videoArgs,
			],
			{ timeout: 180_000 },
		);
		await run(
			'ffmpeg',
			[
				'-hide_banner',
				'-loglevel',
				'error',
				'-y',
				'-f',
				'lavfi',
				'-i',
				'anoisesrc=color=pink:amplitude=0.03:sample_rate=48000',
				'-f',
				'lavfi',
				'-i',
				'sine=frequency=440:sample_rate=48000',
				'-f',
				'lavfi',
				'-i',
				`aevalsrc=exprs='0.6*sin(2*PI*1000*t)*between(mod(t,${periodSec}),${atSec},${atSec + lengthSec})':s=48000`,
				'-filter_complex',
				'[1:a]volume=0.3[tone];[0:a][tone][2:a]amix=inputs=3:duration=shortest:normalize=0',
				'-t',
				String(LOOP_SECONDS),
				'-ac',
				'1',
				'-c:a',
				'libopus',
				'-b:a',
				'32k',
				'-frame_duration',
				'20',
				'-application',
				'voip',
				'-f',
				'ogg',
				tmp[LAYERS.length]!,
			],
			{ timeout: 60_000 },
		);
	} catch (error) {
		for (const f of tmp) rmSync(f, { force: true });
		throw new Error(`ffmpeg could not generate the bench media: ${(error as Error).message}`);
	}
	want.forEach((f, i) => renameSync(tmp[i]!, f));
}

/** Parse an IVF file into frames. */
export function parseIvf(buf: Buffer): Buffer[] {
	if (buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error('not an IVF file');
	const headerLen = buf.readUInt16LE(6);
	const frames: Buffer[] = [];
	let off = headerLen;
	while (off + 12 <= buf.length) {
		const size = buf.readUInt32LE(off);
		off += 12;
		if (off + size > buf.length) break;
		frames.push(buf.subarray(off, off + size));
		off += size;
	}
	return frames;
}

/** A VP8 frame is a keyframe when the P bit of its first byte is 0 (RFC 6386 9.1). */
export function isVp8Keyframe(frame: Buffer): boolean {
	return frame.length > 0 && (frame[0]! & 0x01) === 0;
}

/** Parse an Ogg Opus file into Opus packets (skipping OpusHead and OpusTags). */
export function parseOggOpus(buf: Buffer): Buffer[] {
	const packets: Buffer[] = [];
	let pending: Buffer[] = [];
	let off = 0;
	while (off + 27 <= buf.length) {
		if (buf.toString('ascii', off, off + 4) !== 'OggS') throw new Error(`bad Ogg page at ${off}`);
		const segments = buf[off + 26]!;
		const table = buf.subarray(off + 27, off + 27 + segments);
		let data = off + 27 + segments;
		for (const lace of table) {
			pending.push(buf.subarray(data, data + lace));
			data += lace;
			if (lace < 255) {
				packets.push(Buffer.concat(pending));
				pending = [];
			}
		}
		off = data;
	}
	return packets.filter((p) => !p.subarray(0, 8).toString('ascii').startsWith('Opus'));
}

let cached: MediaSet | undefined;

/** Load (generating if needed) the media set; cached per process. */
export async function loadMedia(dir = DEFAULT_MEDIA_DIR): Promise<MediaSet> {
	if (cached) return cached;
	await ensureMedia(dir);
	const layers = LAYERS.map((l, i) => {
		const frames = parseIvf(readFileSync(layerFile(dir, i))).map((data, index) => ({
			data,
			keyframe: isVp8Keyframe(data),
			index,
		}));
		if (!frames[0]?.keyframe) throw new Error(`layer ${i}: first frame is not a keyframe`);
		return { ...l, frames };
	});
	const lengths = new Set(layers.map((l) => l.frames.length));
	if (lengths.size !== 1) throw new Error(`simulcast layers differ in frame count: ${[...lengths].join(', ')}`);
	const opus = parseOggOpus(readFileSync(audioFile(dir)));
	if (opus.length < 10) throw new Error('too few Opus packets');
	cached = { layers, opus };
	return cached;
}

export function ensureDir(dir: string): void {
	mkdirSync(dir, { recursive: true });
}
