/**
 * In-page probes for the background effect (E2E and bench/background): what a <video>
 * shows (edge energy: how sharp; mean colour), and the page's long tasks (main-thread
 * blocks of 50 ms or more, from the browser's own Long Tasks API). The functions passed to
 * the page use small structural types (the e2e tsconfig has no DOM library).
 */
import type { Locator, Page } from '@playwright/test';

export interface VideoLook {
	width: number;
	height: number;
	/** Mean absolute difference between neighbouring pixels (luma, 0–255). */
	edge: number;
	/** Sharp edges: neighbouring pixels whose luma differs by more than 20, per thousand pixels. */
	sharp: number;
	r: number;
	g: number;
	b: number;
}

interface Ctx2d {
	drawImage(source: unknown, x: number, y: number, w: number, h: number): void;
	getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}

/** Sample what the video element shows now (scaled to 320×180). */
export function videoLook(video: Locator): Promise<VideoLook> {
	return video.evaluate((el) => {
		const v = el as unknown as { videoWidth: number; videoHeight: number; ownerDocument: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d', o: object): Ctx2d } } };
		const W = 320;
		const H = 180;
		const canvas = v.ownerDocument.createElement('canvas');
		canvas.width = W;
		canvas.height = H;
		const ctx = canvas.getContext('2d', { willReadFrequently: true });
		ctx.drawImage(v, 0, 0, W, H);
		const d = ctx.getImageData(0, 0, W, H).data;
		const luma = (i: number): number => 0.299 * d[i * 4]! + 0.587 * d[i * 4 + 1]! + 0.114 * d[i * 4 + 2]!;
		let edge = 0;
		let sharp = 0;
		let r = 0;
		let g = 0;
		let b = 0;
		for (let y = 0; y < H - 1; y++) {
			for (let x = 0; x < W - 1; x++) {
				const i = y * W + x;
				const dx = Math.abs(luma(i) - luma(i + 1));
				const dy = Math.abs(luma(i) - luma(i + W));
				edge += dx + dy;
				if (Math.max(dx, dy) > 20) sharp++;
			}
		}
		for (let i = 0; i < W * H; i++) {
			r += d[i * 4]!;
			g += d[i * 4 + 1]!;
			b += d[i * 4 + 2]!;
		}
		const n = W * H;
		const round = (x: number): number => Math.round(x * 10) / 10;
		return { width: v.videoWidth, height: v.videoHeight, edge: round(edge / ((W - 1) * (H - 1))), sharp: round((sharp * 1000) / ((W - 1) * (H - 1))), r: round(r / n), g: round(g / n), b: round(b / n) };
	});
}

/** Init script: record the page's long tasks (ms) in globalThis.__longTasks. */
export function recordLongTasks(): void {
	const g = globalThis as unknown as {
		__longTasks?: number[];
		PerformanceObserver: new (cb: (list: { getEntries(): { duration: number }[] }) => void) => { observe(o: object): void };
	};
	if (g.__longTasks) return;
	const tasks: number[] = [];
	g.__longTasks = tasks;
	new g.PerformanceObserver((list) => {
		for (const e of list.getEntries()) tasks.push(e.duration);
	}).observe({ type: 'longtask', buffered: true });
}

/** The long tasks recorded since `from` (an index into the list; see longTaskCount). */
export async function longTasksSince(page: Page, from: number): Promise<number[]> {
	return page.evaluate((i) => ((globalThis as unknown as { __longTasks?: number[] }).__longTasks ?? []).slice(i), from);
}

export async function longTaskCount(page: Page): Promise<number> {
	return page.evaluate(() => ((globalThis as unknown as { __longTasks?: number[] }).__longTasks ?? []).length);
}

export interface EffectReading {
	fps: number;
	ms: number | null;
	modelFps: number;
	modelMs: number | null;
}

/** The background line of the stats panel (which must be open). */
export async function readEffect(page: Page): Promise<EffectReading | null> {
	const el = page.getByTestId('stats-background');
	if ((await el.count()) === 0) return null;
	const num = async (name: string): Promise<number | null> => {
		const v = await el.getAttribute(name);
		return v === null || v === '' ? null : Number(v);
	};
	return { fps: (await num('data-fps')) ?? 0, ms: await num('data-ms'), modelFps: (await num('data-model-fps')) ?? 0, modelMs: await num('data-model-ms') };
}
