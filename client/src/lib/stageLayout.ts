/**
 * Where each tile goes on the stage: a grid of equal tiles, or one large tile (a screen
 * share or the speaker) with the others in a strip beside it (landscape) or below it
 * (portrait). Tiles that do not fit in the strip are hidden (their videos are paused).
 */
import { bestLayout, GAP } from './layout.ts';

export interface TileRect {
	x: number;
	y: number;
	width: number;
	height: number;
	slot: 'grid' | 'main' | 'strip' | 'hidden';
}

export interface StageLayout {
	/** One rect per tile, in the order given. */
	rects: TileRect[];
	/** How many strip tiles did not fit (shown as "+N"). */
	overflow: number;
	/** Where the "+N" badge goes (the last strip slot), if any. */
	overflowRect: TileRect | null;
}

const ASPECT = 16 / 9;
const HIDDEN: TileRect = { x: 0, y: 0, width: 0, height: 0, slot: 'hidden' };

function fit(areaW: number, areaH: number, aspect = ASPECT): { width: number; height: number } {
	const width = Math.min(areaW, areaH * aspect);
	return { width: Math.floor(width), height: Math.floor(width / aspect) };
}

export function gridLayout(count: number, width: number, height: number, gap = GAP): StageLayout {
	if (count === 0) return { rects: [], overflow: 0, overflowRect: null };
	const layout = bestLayout(count, width, height, gap);
	const rows = Math.ceil(count / layout.cols);
	const totalH = rows * layout.height + (rows - 1) * gap;
	const y0 = Math.max(0, (height - totalH) / 2);
	const rects: TileRect[] = [];
	for (let i = 0; i < count; i++) {
		const row = Math.floor(i / layout.cols);
		const inRow = Math.min(layout.cols, count - row * layout.cols);
		const rowW = inRow * layout.width + (inRow - 1) * gap;
		const x0 = Math.max(0, (width - rowW) / 2);
		const col = i - row * layout.cols;
		rects.push({
			x: Math.round(x0 + col * (layout.width + gap)),
			y: Math.round(y0 + row * (layout.height + gap)),
			width: layout.width,
			height: layout.height,
			slot: 'grid',
		});
	}
	return { rects, overflow: 0, overflowRect: null };
}

/**
 * Tile `mainIndex` large, the rest in a strip. `fillMain`: the main tile takes the whole
 * main area (a screen share, shown letterboxed) instead of a 16:9 box.
 */
export function spotlightLayout(
	count: number,
	mainIndex: number,
	width: number,
	height: number,
	{ gap = GAP, fillMain = false }: { gap?: number; fillMain?: boolean } = {},
): StageLayout {
	if (count <= 1 || mainIndex < 0 || mainIndex >= count) {
		const rects = gridLayout(count, width, height, gap).rects.map((r) => ({ ...r, slot: 'main' as const }));
		return { rects, overflow: 0, overflowRect: null };
	}
	const others = count - 1;
	const landscape = width >= height;
	const rects: TileRect[] = new Array<TileRect>(count);
	let mainArea: { x: number; y: number; width: number; height: number };
	const strip: TileRect[] = [];
	if (landscape) {
		const stripW = Math.round(Math.min(280, Math.max(150, width * 0.18)));
		const tileH = Math.floor(stripW / ASPECT);
		const fits = Math.max(1, Math.floor((height + gap) / (tileH + gap)));
		const shown = Math.min(others, fits);
		const totalH = shown * tileH + (shown - 1) * gap;
		const y0 = Math.max(0, (height - totalH) / 2);
		const x = width - stripW;
		for (let i = 0; i < shown; i++) strip.push({ x, y: Math.round(y0 + i * (tileH + gap)), width: stripW, height: tileH, slot: 'strip' });
		mainArea = { x: 0, y: 0, width: width - stripW - gap, height };
	} else {
		const stripH = Math.round(Math.min(140, Math.max(72, height * 0.16)));
		// Narrower than 16:9 (down to square, the video is cropped) before any tile is left out.
		const tileW = Math.floor(Math.max(stripH, Math.min(stripH * ASPECT, (width - (others - 1) * gap) / others)));
		const fits = Math.max(1, Math.floor((width + gap) / (tileW + gap)));
		const shown = Math.min(others, fits);
		const totalW = shown * tileW + (shown - 1) * gap;
		const x0 = Math.max(0, (width - totalW) / 2);
		const y = height - stripH;
		for (let i = 0; i < shown; i++) strip.push({ x: Math.round(x0 + i * (tileW + gap)), y, width: tileW, height: stripH, slot: 'strip' });
		mainArea = { x: 0, y: 0, width, height: height - stripH - gap };
	}
	const main = fillMain ? { width: Math.floor(mainArea.width), height: Math.floor(mainArea.height) } : fit(mainArea.width, mainArea.height);
	rects[mainIndex] = {
		x: Math.round(mainArea.x + (mainArea.width - main.width) / 2),
		y: Math.round(mainArea.y + (mainArea.height - main.height) / 2),
		width: main.width,
		height: main.height,
		slot: 'main',
	};
	const overflow = others - strip.length;
	// With overflow, the last slot shows "+N" and that tile is hidden too.
	const visibleStrip = overflow > 0 ? strip.length - 1 : strip.length;
	let s = 0;
	for (let i = 0; i < count; i++) {
		if (i === mainIndex) continue;
		rects[i] = s < visibleStrip ? strip[s]! : HIDDEN;
		s++;
	}
	return {
		rects,
		overflow: overflow > 0 ? overflow + 1 : 0,
		overflowRect: overflow > 0 ? strip[strip.length - 1]! : null,
	};
}
