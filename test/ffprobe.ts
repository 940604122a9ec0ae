/** ffprobe/ffmpeg checks of recorded files (tests only). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Probe {
	codec: string;
	kind: string;
	durationSec: number;
	width: number | null;
	height: number | null;
	packets: number;
}

/** Codec, duration (from the last packet when the container does not say) and packet count of the first stream. */
export async function probe(file: string): Promise<Probe> {
	const { stdout } = await run('ffprobe', [
		'-v', 'error', '-count_packets', '-show_entries',
		'stream=codec_name,codec_type,width,height,nb_read_packets:format=duration', '-of', 'json', file,
	]);
	const j = JSON.parse(stdout) as {
		streams: { codec_name: string; codec_type: string; width?: number; height?: number; nb_read_packets?: string }[];
		format: { duration?: string };
	};
	const s = j.streams[0];
	if (!s) throw new Error(`${file}: no stream`);
	let duration = Number(j.format.duration ?? NaN);
	if (!Number.isFinite(duration)) duration = await lastPacketTime(file);
	return { codec: s.codec_name, kind: s.codec_type, durationSec: duration, width: s.width ?? null, height: s.height ?? null, packets: Number(s.nb_read_packets ?? 0) };
}

async function lastPacketTime(file: string): Promise<number> {
	const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
	const times = stdout.split('\n').map(Number).filter((n) => Number.isFinite(n));
	return times.length ? Math.max(...times) - Math.min(...times) : 0;
}

/** Errors ffmpeg reports decoding the whole file (empty: clean). */
export async function decodeErrors(file: string): Promise<string> {
	// The file's own time base: ffmpeg's default (1/frame rate) would report two frames 10 ms apart as out of order.
	const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-']);
	return stderr.trim();
}

/** Decode the first video frame (throws if it cannot). */
export async function firstFrameDecodes(file: string): Promise<boolean> {
	const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
		encoding: 'buffer',
		maxBuffer: 64 << 20,
	});
	return stdout.length > 0;
}

/** How many decoded frames have each size (`1280x720: 95`), in order of first appearance. */
export async function frameSizes(file: string): Promise<Record<string, number>> {
	const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=width,height', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
	const sizes: Record<string, number> = {};
	for (const line of stdout.split('\n').filter(Boolean)) {
		const key = line.replace(',', 'x');
		sizes[key] = (sizes[key] ?? 0) + 1;
	}
	return sizes;
}

/** Wait until `count` files in `dir` (matching `pattern`) have data (a recorder writes its header with the first frames). */
export async function filesWithData(dir: string, count: number, pattern = /\.(webm|mkv)$/, timeoutMs = 20_000): Promise<void> {
	const { readdir, stat } = await import('node:fs/promises');
	const path = await import('node:path');
	const end = Date.now() + timeoutMs;
	for (;;) {
		const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => pattern.test(n));
		const sizes = await Promise.all(names.map((n) => stat(path.join(dir, n)).then((s) => s.size, () => 0)));
		if (sizes.filter((s) => s > 0).length >= count) return;
		if (Date.now() > end) throw new Error(`${count} recorded files with data in ${dir}: ${names.length} files, sizes ${sizes.join(', ')}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}
