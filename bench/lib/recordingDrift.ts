/**
 * Audio/video drift of a recording of bots (bench/bot/media.ts sync markers), per person:
 *
 * - in the composed file: each person's grid cell's flashes against the beeps of the
 *   mixed audio that are that person's (a beep of the mix within 40 ms of one of the
 *   person's own beeps, placed as below: people's markers may come at the same moments);
 * - in the per-track files placed on one timeline the way the Composer places them (a
 *   part's start is its `capturedAt`, or `startedAt` when aligning by the wall clock).
 */
import path from 'node:path';
import { gridCells, partStart, type ComposerPart } from '../../sfu/recording/Composer.ts';
import { beepTimes, flashTimes, pairMarkers, type MarkerDrift } from './syncMarkers.ts';

export type Alignment = 'capture' | 'wall-clock';

/** Who a part belongs to (`alice:camera` → `alice`). */
function person(p: ComposerPart): string {
	return p.track.slice(0, p.track.lastIndexOf(':'));
}

/**
 * Drift per person in a composed file that the Composer made from the files in `dir`
 * (`parts`, aligned by `align`; grid W×H).
 */
export async function composedDrift(
	file: string,
	dir: string,
	parts: ComposerPart[],
	align: Alignment,
	W = 1280,
	H = 720,
	/** Only these people's cells (default: everyone's). */
	only?: (person: string) => boolean,
): Promise<Map<string, MarkerDrift[]>> {
	const videos = parts.filter((p) => p.kind === 'video');
	const tracks = [...new Set(videos.map((p) => p.track))];
	const cells = gridCells(tracks.length, W, H);
	const mixed = await beepTimes(file);
	// Only the beeps of the people's own files are needed here (their flashes come from the composed file).
	const own = await placedMarkers(dir, parts.filter((p) => p.kind === 'audio' && (!only || only(person(p)))), align, parts);
	const out = new Map<string, MarkerDrift[]>();
	for (const [i, track] of tracks.entries()) {
		if (only && !only(person(videos.find((p) => p.track === track)!))) continue;
		const c = cells[i]!;
		// The middle half of the cell (clear of any letterbox bars).
		const crop = { w: 2 * Math.floor(c.w / 4), h: 2 * Math.floor(c.h / 4), x: c.x + Math.floor(c.w / 4), y: c.y + Math.floor(c.h / 4) };
		const flashes = await flashTimes(file, crop);
		const who = person(videos.find((p) => p.track === track)!);
		const mine = own.get(who)?.beeps ?? [];
		out.set(who, pairMarkers(flashes, mixed.filter((b) => mine.some((m) => Math.abs(m - b) < 0.04))));
	}
	return out;
}

/** Drift per person from the per-track files in `dir`, each placed at its start (by `align`). */
export async function partsDrift(dir: string, parts: ComposerPart[], align: Alignment): Promise<Map<string, MarkerDrift[]>> {
	const placed = await placedMarkers(dir, parts, align);
	return new Map([...placed].map(([who, m]) => [who, pairMarkers(m.flashes, m.beeps)]));
}

/** Each person's flashes and beeps on the Composer's timeline (s from the earliest part's start). */
async function placedMarkers(dir: string, parts: ComposerPart[], align: Alignment, timeline = parts): Promise<Map<string, { flashes: number[]; beeps: number[] }>> {
	const start = (p: ComposerPart): number => (align === 'capture' ? partStart(p) : p.startedAt);
	// The timeline starts at the earliest part's start, of all of `timeline` (the composed file's parts).
	const t0 = Math.min(...timeline.map(start));
	const place = async (p: ComposerPart): Promise<number[]> => {
		const times = p.kind === 'video' ? await flashTimes(path.join(dir, p.file)) : await beepTimes(path.join(dir, p.file));
		return times.map((t) => t + (start(p) - t0) / 1000);
	};
	const out = new Map<string, { flashes: number[]; beeps: number[] }>();
	for (const who of new Set(parts.map(person))) {
		const mine = parts.filter((p) => person(p) === who);
		const flashes = (await Promise.all(mine.filter((p) => p.kind === 'video').map(place))).flat();
		const beeps = (await Promise.all(mine.filter((p) => p.kind === 'audio').map(place))).flat();
		out.set(who, { flashes, beeps });
	}
	return out;
}
