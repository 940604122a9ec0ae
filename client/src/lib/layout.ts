/** Grid layout arithmetic for the video tiles. */

export const GAP = 12;
const ASPECT = 16 / 9;

export interface Layout {
	cols: number;
	width: number;
	height: number;
}

/**
 * The column count giving the largest tiles. Tiles are 16:9 in landscape space; in portrait
 * space (phones) they may be anywhere from 3:4 to 16:9, to use the height (video is cropped
 * to cover the tile).
 */
export function bestLayout(count: number, width: number, height: number, gap = GAP): Layout {
	let best: Layout = { cols: 1, width: 0, height: 0 };
	let bestArea = -1;
	const n = Math.max(1, count);
	const portrait = height > width;
	for (let cols = 1; cols <= n; cols++) {
		const rows = Math.ceil(n / cols);
		const cellW = (width - gap * (cols - 1)) / cols;
		const cellH = (height - gap * (rows - 1)) / rows;
		if (cellW <= 0 || cellH <= 0) continue;
		const aspect = portrait ? Math.min(ASPECT, Math.max(3 / 4, cellW / cellH)) : ASPECT;
		const w = Math.min(cellW, cellH * aspect);
		const h = w / aspect;
		if (w * h > bestArea + 1) {
			bestArea = w * h;
			best = { cols, width: Math.floor(w), height: Math.floor(h) };
		}
	}
	return best;
}
