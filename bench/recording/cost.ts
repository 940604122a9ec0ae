/**
 * What recording costs: N bots publish VP8 simulcast (~1.85 Mbps in three layers) and
 * Opus into one Parley room; the room is recorded for D seconds. Measured: CPU of the
 * ffmpeg processes per recorded stream, the extra mediasoup worker CPU (recording vs
 * the same seconds before it), bytes written per stream and second, and the time to make
 * the composed file (extrapolated to a 10-minute meeting).
 *
 *   flock /tmp/parley-e2e.lock node bench/recording/cost.ts [--publishers=4] [--seconds=20]
 *
 * Prints a table and writes bench/results/recording-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Bot } from '../bot/bot.ts';
import { loadMedia } from '../bot/media.ts';
import { ParleyConnector } from '../bot/parley.ts';
import { childrenOf, cpuSeconds, machineCpu } from '../lib/proc.ts';
import { startTestServer } from '../../test/harness.ts';

const { values } = parseArgs({ options: { publishers: { type: 'string', default: '4' }, seconds: { type: 'string', default: '20' } } });
const publishers = Number(values.publishers);
const seconds = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await loadMedia();
const t = await startTestServer({ env: { PARLEY_RECORDING_RTP_PORT_MIN: '25200', PARLEY_RECORDING_RTP_PORT_MAX: '25299' } });
const connector = new ParleyConnector({ url: t.url, token: (r, identity, grants) => t.token({ room: r, identity, name: identity, grants }) });
const bots: Bot[] = [];
for (let i = 0; i < publishers; i++) {
	const bot = new Bot({ connector, room: 'bench-rec', identity: `pub${i}`, publish: { video: 'simulcast', audio: true } });
	bots.push(bot);
	await bot.start();
}
await sleep(3000);
const workerPid = t.sfu.pool.workers[0]!.worker.pid;
const busy = (): number => {
	const m = machineCpu();
	return m.total - m.idle;
};

// The same seconds without recording, for the worker's baseline.
const w0 = cpuSeconds(workerPid);
await sleep(seconds * 1000);
const workerBase = (cpuSeconds(workerPid) - w0) / seconds;

const state = await t.server.recordings.start('bench-rec', 'bench');
await sleep(3000); // every ffmpeg started and writing
const ffmpegs = childrenOf(process.pid, 'ffmpeg');
const f0 = new Map(ffmpegs.map((pid) => [pid, cpuSeconds(pid)]));
const w1 = cpuSeconds(workerPid);
const m0 = busy();
const started = Date.now();
await sleep(seconds * 1000);
const elapsed = (Date.now() - started) / 1000;
const ffmpegCpu = ffmpegs.map((pid) => (cpuSeconds(pid) - f0.get(pid)!) / elapsed);
const workerRec = (cpuSeconds(workerPid) - w1) / elapsed;
const machineBusy = (busy() - m0) / 100 / elapsed;
const ready = new Promise<import('../../signaling/protocol/index.ts').RecordingInfo>((r) => t.server.recordings.once('ready', r));
const composedInfo = new Promise<import('../../signaling/protocol/index.ts').RecordingInfo>((r) => t.server.recordings.once('composed', r));
await t.server.recordings.stop('bench-rec', 'bench');
const info = await ready;
const composeStart = Date.now();
const composed = await composedInfo;
const composeSeconds = (Date.now() - composeStart) / 1000;

const streams = ffmpegs.length;
const video = info.files.filter((f) => f.kind === 'video');
const audio = info.files.filter((f) => f.kind === 'audio');
const rate = (fs: typeof info.files) => fs.reduce((s, f) => s + f.bytes / ((f.endedAt - f.startedAt) / 1000), 0) / Math.max(1, fs.length) * 8 / 1000;
const result = {
	publishers,
	seconds,
	recordedStreams: streams,
	ffmpegCpuPerStreamPercent: (ffmpegCpu.reduce((a, b) => a + b, 0) / streams) * 100,
	ffmpegCpuMaxPercent: Math.max(...ffmpegCpu) * 100,
	workerCpuPercentBefore: workerBase * 100,
	workerCpuPercentRecording: workerRec * 100,
	workerExtraPerStreamPercent: ((workerRec - workerBase) / streams) * 100,
	videoKbpsWritten: rate(video),
	audioKbpsWritten: rate(audio),
	machineBusyCores: machineBusy,
	loadAverage1m: Number((await import('node:os')).loadavg()[0]!.toFixed(2)),
	recordingId: state.id,
	composedState: composed.composed?.state ?? null,
	composedMediaSeconds: composed.composed?.seconds ?? null,
	composeWallSeconds: composeSeconds,
	/** Extrapolated linearly: wall seconds to compose 10 minutes with this many people. */
	composeTenMinutesSeconds: composed.composed?.seconds ? (composeSeconds / composed.composed.seconds) * 600 : null,
};
console.log('\nrecording cost (one room, %d publishers: VP8 simulcast + Opus each, %d s)', publishers, seconds);
console.table({
	'ffmpeg CPU per recorded stream (% of a core)': result.ffmpegCpuPerStreamPercent.toFixed(2),
	'ffmpeg CPU, busiest stream (%)': result.ffmpegCpuMaxPercent.toFixed(2),
	'worker CPU before / while recording (%)': `${result.workerCpuPercentBefore.toFixed(1)} / ${result.workerCpuPercentRecording.toFixed(1)}`,
	'worker CPU added per recorded stream (%)': result.workerExtraPerStreamPercent.toFixed(2),
	'written kbps per video / audio stream': `${result.videoKbpsWritten.toFixed(0)} / ${result.audioKbpsWritten.toFixed(0)}`,
	'machine busy (cores) / load average': `${result.machineBusyCores.toFixed(2)} / ${result.loadAverage1m}`,
	'composed file: media s / wall s to make it': `${result.composedMediaSeconds?.toFixed(1)} / ${result.composeWallSeconds.toFixed(1)} (${result.composedState})`,
	'10 minutes composed in (s, extrapolated)': result.composeTenMinutesSeconds?.toFixed(0) ?? '-',
});
const out = path.join(import.meta.dirname, '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'recording-cost.json'), `${JSON.stringify(result, null, 2)}\n`);
await Promise.all(bots.map((b) => b.close()));
await t.close();
