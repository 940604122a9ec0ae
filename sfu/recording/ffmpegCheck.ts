/**
 * Whether the recorder's ffmpeg can be run at all: checked before a recording starts, so
 * that a missing or broken binary is a clear refusal rather than a recording that shows as
 * running while every track's process fails to start.
 */
import { execFile } from 'node:child_process';

/** null when `ffmpegPath -version` runs; otherwise what went wrong, for the operator's log. */
export function ffmpegProblem(ffmpegPath: string, timeoutMs = 10_000): Promise<string | null> {
	return new Promise((resolve) => {
		execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: timeoutMs }, (error, stdout) => {
			if (!error && /ffmpeg version/i.test(stdout)) return resolve(null);
			const code = (error as NodeJS.ErrnoException | null)?.code;
			if (code === 'ENOENT') return resolve(`${ffmpegPath} not found (install ffmpeg, or set recording.ffmpegPath)`);
			if (code === 'EACCES') return resolve(`${ffmpegPath} cannot be executed (permissions)`);
			resolve(error ? `${ffmpegPath} -version failed: ${error.message.split('\n')[0]}` : `${ffmpegPath} does not look like ffmpeg`);
		});
	});
}
