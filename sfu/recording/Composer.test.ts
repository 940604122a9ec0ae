/**
 * The Composer places audio by its timestamps: a microphone file with a gap in them (Opus
 * DTX: Chromium sends nothing, or a 1-byte frame every 400 ms, while someone is quiet) keeps
 * what follows the gap at its time, instead of moving it earlier by the gap. Real ffmpeg;
 * the file is made by dropping 2 s of packets from an Opus file with a beep at 3.0 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { beepTimes } from '../../bench/lib/syncMarkers.ts';
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
