/**
 * Audio/video drift of recordings: N bots publish VP8 simulcast + Opus whose clip has a
 * white flash and a beep at the same moments (bench/bot/media.ts), their video leaving
 * V ms after capture (0: as soon as captured; 200: a camera/encoder pipeline slower than the
 * microphone's, as in browsers, told by the RTP timestamps and sender reports); the room is recorded
 * for D seconds through the real RecordingService (worker → PlainTransports → ffmpeg),
 * then composed. Drift = beep − flash per marker, per person, measured
 *
 * - in the composed MP4 the service made (parts placed at their capture time when the
 *   sender reports gave it, else their wall-clock start), and in a second composed file
 *   made from the same parts placed at their wall-clock start only (how it was done before);
 * - in the per-track files placed on one timeline both ways (no re-encoding involved).
 *
 *   flock /tmp/parley-e2e.lock node bench/recording/drift.ts [--publishers=1,4] [--video-delay-ms=0,200] [--seconds=10]
 *
 * Prints a table and writes bench/results/recording-drift.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Bot } from '../bot/bot.ts';
import { loadMedia } from '../bot/media.ts';
import { ParleyConnector } from '../bot/parley.ts';
import { composedDrift, partsDrift, type Alignment } from '../lib/recordingDrift.ts';
import { summarize, type DriftSummary, type MarkerDrift } from '../lib/syncMarkers.ts';
import { Composer, type ComposerPart } from '../../sfu/recording/Composer.ts';
import { startTestServer } from '../../test/harness.ts';
import type { RecordingInfo } from '../../signaling/protocol/index.ts';

const { values } = parseArgs({
	options: { publishers: { type: 'string', default: '1,4' }, 'video-delay-ms': { type: 'string', default: '0,200' }, seconds: { type: 'string', default: '10' } },
});
const counts = values.publishers.split(',').map(Number);
const delays = values['video-delay-ms'].split(',').map(Number);
const seconds = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
	publishers: number;
	videoDelayMs: number;
	where: 'composed' | 'per-track files';
	align: Alignment;
	person: string;
	summary: DriftSummary;
	driftsMs: number[];
}

await loadMedia();
const rows: Row[] = [];
const runs: { publishers: number; videoDelayMs: number; parts: number; capturedParts: number; startOffsetsMs: Record<string, number> }[] = [];
for (const delay of delays) for (const n of counts) {
	const t = await startTestServer({ env: { PARLEY_RECORDING_RTP_PORT_MIN: '25000', PARLEY_RECORDING_RTP_PORT_MAX: '25199' } });
	const connector = new ParleyConnector({ url: t.url, token: (r, identity, grants) => t.token({ room: r, identity, name: identity, grants }) });
	const bots: Bot[] = [];
	try {
		for (let i = 0; i < n; i++) {
			const bot = new Bot({ connector, room: 'drift', identity: `pub${i}`, publish: { video: 'simulcast', audio: true }, videoDelayMs: delay });
			bots.push(bot);
			await bot.start();
		}
		await sleep(2000);
		const ready = new Promise<RecordingInfo>((r) => t.server.recordings.once('ready', r));
		const composed = new Promise<RecordingInfo>((r) => t.server.recordings.once('composed', r));
		await t.server.recordings.start('drift', 'bench');
		await sleep(seconds * 1000);
		await t.server.recordings.stop('drift', 'bench');
		const info = await ready;
		await composed;
		const dir = t.server.recordings.store.folder(info.room, info.id);
		const parts: ComposerPart[] = info.files.map((f) => ({ ...f, track: `${f.peerId}:${f.source}` }));
		// The same parts composed the old way: each at its wall-clock start.
		const wall = parts.map(({ capturedAt: _, ...p }) => p);
		await new Composer({ ffmpegPath: 'ffmpeg', dir, parts: wall, output: 'composed-wall-clock.mp4', log: pino({ level: 'silent' }) }).done;
		const add = (where: Row['where'], align: Alignment, drifts: Map<string, MarkerDrift[]>) => {
			for (const [person, d] of drifts) rows.push({ publishers: n, videoDelayMs: delay, where, align, person, summary: summarize(d), driftsMs: d.map((x) => Math.round(x.driftMs)) });
		};
		add('composed', 'capture', await composedDrift(path.join(dir, 'composed.mp4'), dir, parts, 'capture'));
		add('composed', 'wall-clock', await composedDrift(path.join(dir, 'composed-wall-clock.mp4'), dir, wall, 'wall-clock'));
		add('per-track files', 'capture', await partsDrift(dir, parts, 'capture'));
		add('per-track files', 'wall-clock', await partsDrift(dir, wall, 'wall-clock'));
		runs.push({
			publishers: n,
			videoDelayMs: delay,
			parts: parts.length,
			capturedParts: parts.filter((p) => p.capturedAt != null).length,
			// How far each part's first frame is from where the wall clock put it (capture − start).
			startOffsetsMs: Object.fromEntries(parts.filter((p) => p.capturedAt != null).map((p) => [p.file, Math.round(p.capturedAt! - p.startedAt)])),
		});
		console.log(`[drift] ${n} publisher(s), video ${delay} ms after capture: ${parts.length} parts in ${dir}`);
	} finally {
		await Promise.all(bots.map((b) => b.close()));
		await t.close();
	}
}

console.log('\nrecording A/V drift (beep − flash per marker, ms; %d s recorded)', seconds);
console.table(
	rows.map((r) => ({
		publishers: r.publishers,
		'video delay': r.videoDelayMs,
		file: r.where,
		'aligned by': r.align === 'capture' ? 'capture time (SR)' : 'wall clock',
		person: r.person,
		markers: r.summary.markers,
		'median ms': r.summary.medianMs,
		'max |drift| ms': r.summary.maxAbsMs,
	})),
);
const result = { seconds, runs, rows };
const out = path.join(import.meta.dirname, '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'recording-drift.json'), `${JSON.stringify(result, null, 2)}\n`);
