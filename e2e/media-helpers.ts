/**
 * WebRTC measurement helpers for the media specs (simulcast, loss, screen share, speaker):
 * per-stream outbound/inbound stats from the page's recorded peer connections, in-page
 * timing of a video's size change (requestVideoFrameCallback) or of decoding resuming, and
 * a voice-like fake microphone file.
 *
 * As in fixtures.ts, the in-page functions use small structural types (no DOM library).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LaunchOptions, Page } from '@playwright/test';
import type { PageGlobals, StatsEntry } from './fixtures.ts';

export interface OutboundVideoStream {
	rid: string;
	active: boolean;
	frameWidth: number;
	frameHeight: number;
	framesEncoded: number;
	bytesSent: number;
	packetsSent: number;
	framesPerSecond: number;
	qualityLimitationReason: string;
	mid: string;
}

export interface InboundStream {
	kind: 'audio' | 'video';
	trackIdentifier: string;
	mid: string;
	packetsReceived: number;
	packetsLost: number;
	bytesReceived: number;
	nackCount: number;
	pliCount: number;
	firCount: number;
	framesDecoded: number;
	framesReceived: number;
	framesDropped: number;
	frameWidth: number;
	frameHeight: number;
	freezeCount: number;
	totalFreezesDuration: number;
	totalPausesDuration: number;
	concealedSamples: number;
	silentConcealedSamples: number;
	concealmentEvents: number;
	totalSamplesReceived: number;
	totalSamplesDuration: number;
	insertedSamplesForDeceleration: number;
	removedSamplesForAcceleration: number;
	jitterBufferDelay: number;
	jitterBufferEmittedCount: number;
	jitterBufferTargetDelay: number;
	jitterBufferMinimumDelay: number;
	jitter: number;
	retransmittedPacketsReceived: number;
	fecPacketsReceived: number;
	timestamp: number;
}

/** Every outbound video stream (one per simulcast rid) of the page's open peer connections. */
export async function readOutboundVideo(page: Page): Promise<OutboundVideoStream[]> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		const out: OutboundVideoStream[] = [];
		for (const pc of g.__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			const report = await pc.getStats();
			report.forEach((e: StatsEntry) => {
				if (e.type !== 'outbound-rtp' || e.kind !== 'video') return;
				out.push({
					rid: String(e.rid ?? ''),
					active: e.active !== false,
					frameWidth: Number(e.frameWidth ?? 0),
					frameHeight: Number(e.frameHeight ?? 0),
					framesEncoded: Number(e.framesEncoded ?? 0),
					bytesSent: Number(e.bytesSent ?? 0),
					packetsSent: Number(e.packetsSent ?? 0),
					framesPerSecond: Number(e.framesPerSecond ?? 0),
					qualityLimitationReason: String(e.qualityLimitationReason ?? ''),
					mid: String(e.mid ?? ''),
				});
			});
		}
		return out.sort((a, b) => a.mid.localeCompare(b.mid) || a.rid.localeCompare(b.rid));
	});
}

/** The page's sending side: the bandwidth estimate and what each video layer sends. */
export async function readSendSummary(page: Page): Promise<{ availableKbps: number | null; layers: { rid: string; active: boolean; width: number; fps: number; limitation: string }[] }> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		let availableKbps: number | null = null;
		const layers: { rid: string; active: boolean; width: number; fps: number; limitation: string }[] = [];
		for (const pc of g.__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			let sending = false;
			let available: number | null = null;
			(await pc.getStats()).forEach((e: StatsEntry) => {
				if (e.type === 'candidate-pair' && e.nominated && typeof e.availableOutgoingBitrate === 'number') {
					available = Math.round(e.availableOutgoingBitrate / 1000);
				}
				if (e.type === 'outbound-rtp') sending = true;
				if (e.type === 'outbound-rtp' && e.kind === 'video') {
					layers.push({
						rid: String(e.rid ?? ''),
						active: e.active !== false,
						width: Number(e.frameWidth ?? 0),
						fps: Number(e.framesPerSecond ?? 0),
						limitation: String(e.qualityLimitationReason ?? ''),
					});
				}
			});
			if (sending) availableKbps = available;
		}
		return { availableKbps, layers: layers.sort((a, b) => a.rid.localeCompare(b.rid)) };
	});
}

/** Every inbound stream of the page's open peer connections, with the counters the specs use. */
export async function readInbound(page: Page): Promise<InboundStream[]> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		const out: InboundStream[] = [];
		const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
		for (const pc of g.__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			const report = await pc.getStats();
			report.forEach((e: StatsEntry) => {
				// mediasoup-client's bandwidth probe (mid "probator") is not media anyone sees.
				if (e.type !== 'inbound-rtp' || e.mid === 'probator') return;
				out.push({
					kind: e.kind === 'audio' ? 'audio' : 'video',
					trackIdentifier: String(e.trackIdentifier ?? ''),
					mid: String(e.mid ?? ''),
					packetsReceived: n(e.packetsReceived),
					packetsLost: n(e.packetsLost),
					bytesReceived: n(e.bytesReceived),
					nackCount: n(e.nackCount),
					pliCount: n(e.pliCount),
					firCount: n(e.firCount),
					framesDecoded: n(e.framesDecoded),
					framesReceived: n(e.framesReceived),
					framesDropped: n(e.framesDropped),
					frameWidth: n(e.frameWidth),
					frameHeight: n(e.frameHeight),
					freezeCount: n(e.freezeCount),
					totalFreezesDuration: n(e.totalFreezesDuration),
					totalPausesDuration: n(e.totalPausesDuration),
					concealedSamples: n(e.concealedSamples),
					silentConcealedSamples: n(e.silentConcealedSamples),
					concealmentEvents: n(e.concealmentEvents),
					totalSamplesReceived: n(e.totalSamplesReceived),
					totalSamplesDuration: n(e.totalSamplesDuration),
					insertedSamplesForDeceleration: n(e.insertedSamplesForDeceleration),
					removedSamplesForAcceleration: n(e.removedSamplesForAcceleration),
					jitterBufferDelay: n(e.jitterBufferDelay),
					jitterBufferEmittedCount: n(e.jitterBufferEmittedCount),
					jitterBufferTargetDelay: n(e.jitterBufferTargetDelay),
					jitterBufferMinimumDelay: n(e.jitterBufferMinimumDelay),
					jitter: n(e.jitter),
					retransmittedPacketsReceived: n(e.retransmittedPacketsReceived),
					fecPacketsReceived: n(e.fecPacketsReceived),
					timestamp: n(e.timestamp),
				});
			});
		}
		return out;
	});
}

/** The inbound stream feeding a tile's <video> (matched by track id). */
export async function tileTrackId(page: Page, tileSelector: string): Promise<string | null> {
	return page.evaluate((selector) => {
		type VideoEl = { srcObject: { getVideoTracks(): { id: string }[] } | null };
		const doc = (globalThis as unknown as { document: { querySelector(s: string): VideoEl | null } }).document;
		const video = doc.querySelector(`${selector} video`);
		return video?.srcObject?.getVideoTracks()[0]?.id ?? null;
	}, tileSelector);
}

export async function inboundFor(page: Page, trackId: string): Promise<InboundStream | undefined> {
	return (await readInbound(page)).find((s) => s.trackIdentifier === trackId);
}

export interface SwitchTiming {
	/** From the action to the first presented frame whose width passes the test (ms). */
	ms: number | null;
	width: number;
	/** Decoded width before the action. */
	before: number;
}

/**
 * Times an action that should change a tile's decoded video width: arms
 * requestVideoFrameCallback on the tile's <video>, runs `action` (a click on a selector, or
 * nothing when the test drives the change itself, e.g. a viewport resize) and resolves
 * with the time from the action to the first frame presented at a width for which
 * `accept(width)` holds. Time is measured in the page (performance.now()).
 */
export async function timeWidthChange(
	page: Page,
	tileSelector: string,
	accept: { min?: number; max?: number },
	options: { click?: string; timeoutMs?: number } = {},
): Promise<SwitchTiming> {
	return page.evaluate(
		({ selector, min, max, click, timeoutMs }) =>
			new Promise<SwitchTiming>((resolve) => {
				type Meta = { width: number };
				type VideoEl = {
					videoWidth: number;
					requestVideoFrameCallback(cb: (now: number, meta: Meta) => void): number;
				};
				const g = globalThis as unknown as {
					document: { querySelector(s: string): (VideoEl & { click(): void }) | null };
					performance: { now(): number };
					setTimeout(fn: () => void, ms: number): number;
				};
				const video = g.document.querySelector(`${selector} video`);
				if (!video) {
					resolve({ ms: null, width: 0, before: 0 });
					return;
				}
				const before = video.videoWidth;
				const ok = (w: number): boolean => (min === undefined || w >= min) && (max === undefined || w <= max);
				let done = false;
				const t0 = g.performance.now();
				const onFrame = (_now: number, meta: Meta): void => {
					if (done) return;
					if (ok(meta.width)) {
						done = true;
						resolve({ ms: Math.round(g.performance.now() - t0), width: meta.width, before });
						return;
					}
					video.requestVideoFrameCallback(onFrame);
				};
				video.requestVideoFrameCallback(onFrame);
				g.setTimeout(() => {
					if (done) return;
					done = true;
					resolve({ ms: null, width: video.videoWidth, before });
				}, timeoutMs);
				if (click) g.document.querySelector(click)?.click();
			}),
		{ selector: tileSelector, min: accept.min, max: accept.max, click: options.click, timeoutMs: options.timeoutMs ?? 8000 },
	);
}

/**
 * Times an action until the inbound video with this track id decodes again: getStats is
 * polled every 20 ms in the page; resolves with the ms from the action to framesDecoded
 * having grown by `frames`.
 */
export async function timeDecodeResume(
	page: Page,
	trackId: string,
	options: { click?: string; frames?: number; timeoutMs?: number } = {},
): Promise<number | null> {
	return page.evaluate(
		async ({ trackId, click, frames, timeoutMs }) => {
			const g = globalThis as unknown as PageGlobals & {
				document: { querySelector(s: string): { click(): void } | null };
				performance: { now(): number };
			};
			const decoded = async (): Promise<number> => {
				let n = 0;
				for (const pc of g.__parleyTestPcs ?? []) {
					if (pc.connectionState === 'closed') continue;
					(await pc.getStats()).forEach((e: StatsEntry) => {
						if (e.type === 'inbound-rtp' && e.trackIdentifier === trackId) n = Number(e.framesDecoded ?? 0);
					});
				}
				return n;
			};
			const start = await decoded();
			const t0 = g.performance.now();
			if (click) g.document.querySelector(click)?.click();
			while (g.performance.now() - t0 < timeoutMs) {
				if ((await decoded()) >= start + frames) return Math.round(g.performance.now() - t0);
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			return null;
		},
		{ trackId, click: options.click, frames: options.frames ?? 2, timeoutMs: options.timeoutMs ?? 8000 },
	);
}

export function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	if (sorted.length === 0) return NaN;
	const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
	return sorted[Math.min(sorted.length, rank) - 1]!;
}

// ---- Fake audio from a file ---------------------------------------------------------

/**
 * A voice-like test signal as the fake microphone: a tone gliding around 220 Hz, its
 * loudness pulsing four times a second like syllables. (Chromium's default fake
 * microphone beeps once a second, so with DTX there is hardly any audio to measure; a
 * steady tone is taken for noise by the noise suppressor and fades away.) Generated once
 * with ffmpeg into e2e/.artifacts. Use with `test.use({ launchOptions: withFakeAudioFile() })`.
 */
export function toneFile(): string {
	const file = fileURLToPath(new URL('./.artifacts/voice-like.wav', import.meta.url));
	if (!existsSync(file)) {
		mkdirSync(dirname(file), { recursive: true });
		const expr = '0.5*sin(2*PI*(220+60*sin(2*PI*0.5*t))*t)*(0.55+0.45*sin(2*PI*4*t))';
		execFileSync('ffmpeg', [
			'-loglevel', 'error', '-y',
			'-f', 'lavfi', '-i', `aevalsrc=exprs=${expr}:s=48000:d=10`,
			'-ac', '1', '-c:a', 'pcm_s16le', file,
		]);
	}
	return file;
}

/** The config's launch options plus a file-backed fake microphone. */
export function withFakeAudioFile(launchOptions: LaunchOptions | undefined): LaunchOptions {
	return {
		...launchOptions,
		args: [...(launchOptions?.args ?? []), `--use-file-for-fake-audio-capture=${toneFile()}`],
	};
}

/** A stream's counters between two samples, as the specs report them. */
export function audioFigures(before: InboundStream, after: InboundStream) {
	const d = (k: keyof InboundStream): number => (after[k] as number) - (before[k] as number);
	const samples = d('totalSamplesReceived');
	const emitted = d('jitterBufferEmittedCount');
	return {
		packetsReceived: d('packetsReceived'),
		packetsLost: d('packetsLost'),
		concealedRatio: samples > 0 ? round(d('concealedSamples') / samples, 4) : null,
		silentConcealedSamples: d('silentConcealedSamples'),
		concealmentEvents: d('concealmentEvents'),
		nackCount: d('nackCount'),
		retransmittedPacketsReceived: d('retransmittedPacketsReceived'),
		fecPacketsReceived: d('fecPacketsReceived'),
		jitterBufferMs: emitted > 0 ? Math.round((1000 * d('jitterBufferDelay')) / emitted) : null,
	};
}

export function videoFigures(before: InboundStream, after: InboundStream) {
	const d = (k: keyof InboundStream): number => (after[k] as number) - (before[k] as number);
	const seconds = (after.timestamp - before.timestamp) / 1000;
	const emitted = d('jitterBufferEmittedCount');
	return {
		seconds: round(seconds, 1),
		fps: round(d('framesDecoded') / seconds, 1),
		frameWidth: after.frameWidth,
		freezeCount: d('freezeCount'),
		totalFreezesDuration: round(d('totalFreezesDuration'), 2),
		frozenRatio: round(d('totalFreezesDuration') / seconds, 3),
		nackCount: d('nackCount'),
		pliCount: d('pliCount'),
		packetsLost: d('packetsLost'),
		packetsReceived: d('packetsReceived'),
		retransmittedPacketsReceived: d('retransmittedPacketsReceived'),
		framesDropped: d('framesDropped'),
		jitterBufferMs: emitted > 0 ? Math.round((1000 * d('jitterBufferDelay')) / emitted) : null,
		jitterBufferTargetMs: emitted > 0 ? Math.round((1000 * d('jitterBufferTargetDelay')) / emitted) : null,
		jitterBufferMinimumMs: emitted > 0 ? Math.round((1000 * d('jitterBufferMinimumDelay')) / emitted) : null,
	};
}

function round(v: number, digits: number): number {
	const f = 10 ** digits;
	return Math.round(v * f) / f;
}

/**
 * The path of each open peer connection of the page, from its selected candidate pair:
 * "udp" or "tcp" for a direct path, "relay/<udp|tcp|tls>" through TURN. Sorted.
 */
export async function selectedPaths(page: Page): Promise<string[]> {
	return page.evaluate(async () => {
		const out: string[] = [];
		for (const pc of (globalThis as unknown as PageGlobals).__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			const entries = new Map<string, StatsEntry>();
			(await pc.getStats()).forEach((e) => entries.set(String(e.id), e));
			for (const e of entries.values()) {
				if (e.type !== 'transport' || typeof e.selectedCandidatePairId !== 'string') continue;
				const local = entries.get(String(entries.get(e.selectedCandidatePairId)?.localCandidateId));
				if (local) out.push(local.candidateType === 'relay' ? `relay/${String(local.relayProtocol)}` : String(local.protocol));
			}
		}
		return out.sort();
	});
}
