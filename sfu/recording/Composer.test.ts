/**
 * The Composer places audio by its timestamps: a microphone file with a gap in them (Opus
 * DTX: Chromium sends nothing, or a 1-byte frame every 400 ms, while someone is quiet) keeps
 * what follows the gap at its time, instead of moving it earlier by the gap. Real ffmpeg;
 * the file is made by dropping 2 s of packets from an Opus file with a beep at 3.0 s.
 *
 * And it places video on the grid's 30 fps ticks at the part's start, to the nearest tick:
 * a VP8 file at 15 fps flashing at 2.0 s, placed 530 ms after the audio, flashes in the
 * composed file within half a tick (17 ms) of 2.530 s (offsetting it after the fps
 * conversion, as before, cut the offset down to a whole tick: 2.500 s, 30 ms early).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { beepTimes, flashTimes } from '../../bench/lib/syncMarkers.ts';
import { Composer } from './Composer.ts';

const run = promisify(execFile);
let dir: string;

before(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'parley-composer-'));
	const ff = (...args: string[]) => run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
	// 4 s of silence with a 100 ms beep at 3.0 s (the sine source is at 1/8 of full scale), Opus in 20 ms frames (as the recorder writes it, no re-encode)…
	await ff('-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=4', '-af', "volume='if(between(t,3,3.1),5,0)':eval=frame", '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', path.join(dir, 'full.webm'));
	// …and with the packets from 0.5 to 2.5 s gone: a gap in the timestamps.
	await ff('-i', path.join(dir, 'full.webm'), '-c', 'copy', '-bsf:a', "noise=drop='between(pts,500,2500)'", path.join(dir, 'gap.webm'));
	// 4 s of dark VP8 video at 15 fps, white from 2.0 to 2.2 s.
	await ff('-f', 'lavfi', '-i', 'color=c=0x141414:s=320x180:r=15:d=4', '-vf', "drawbox=enable='between(t,2,2.2)':c=white:t=fill", '-c:v', 'libvpx', '-b:v', '200k', path.join(dir, 'flash.webm'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

it('keeps audio after a gap in its timestamps (DTX) at its time', { timeout: 60_000 }, async () => {
	const full = await beepTimes(path.join(dir, 'full.webm'));
	assert.equal(full.length, 1, `one beep in the source: ${full.join(', ')}`);
	const start = 1_000_000;
	const part = { file: 'gap.webm', track: 'ann:microphone', kind: 'audio' as const, startedAt: start, endedAt: start + 4000, capturedAt: start };
	await new Composer({ ffmpegPath: 'ffmpeg', dir, parts: [part], output: 'composed.mp4', log: pino({ level: 'silent' }), width: 320, height: 180 }).done;
	const composed = await beepTimes(path.join(dir, 'composed.mp4'));
	assert.equal(composed.length, 1, `one beep in the composed file: ${composed.join(', ')}`);
	// Without the gap filled, the beep lands 2 s early (~1.0 s).
	assert.ok(Math.abs(composed[0]! - full[0]!) < 0.05, `beep at ${composed[0]!.toFixed(3)} s in the composed file, ${full[0]!.toFixed(3)} s in the source`);
});

it('places video at its start on the grid\'s frame ticks, to the nearest one', { timeout: 60_000 }, async () => {
	const source = await flashTimes(path.join(dir, 'flash.webm'));
	assert.equal(source.length, 1, `one flash in the source: ${source.join(', ')}`);
	const start = 2_000_000;
	const parts = [
		{ file: 'full.webm', track: 'bo:microphone', kind: 'audio' as const, startedAt: start, endedAt: start + 4000, capturedAt: start },
		{ file: 'flash.webm', track: 'bo:camera', kind: 'video' as const, startedAt: start + 480, endedAt: start + 4480, capturedAt: start + 530 },
	];
	await new Composer({ ffmpegPath: 'ffmpeg', dir, parts, output: 'placed.mp4', log: pino({ level: 'silent' }), width: 320, height: 180 }).done;
	const [flash] = await flashTimes(path.join(dir, 'placed.mp4'));
	const want = source[0]! + 0.53;
	assert.ok(flash !== undefined && Math.abs(flash - want) <= 1 / 60 + 0.001, `flash at ${flash?.toFixed(3)} s in the composed file, expected ${want.toFixed(3)} s ± half a frame`);
});
