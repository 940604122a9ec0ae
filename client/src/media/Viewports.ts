/**
 * Viewport reports, receiver side: each remote video's rendered size and visibility go to
 * the SFU (media:setViewports), which picks the layers to forward and pauses hidden ones.
 * The first change after a quiet spell goes out at once (a layout switch should not wait),
 * later ones at most every VIEWPORT_INTERVAL_MS; unchanged viewports are not sent again.
 */
import { mark } from './marks.ts';
import type { TileViewport } from './types.ts';

const VIEWPORT_INTERVAL_MS = 150;
/** The protocol's batch limit. */
const BATCH_MAX = 200;

export interface ViewportContext {
	request(name: 'media:setViewports', payload: { viewports: (TileViewport & { consumerId: string })[] }): Promise<unknown>;
	/** Whether a consumer exists and is a video (reports for others are dropped). */
	isVideo(consumerId: string): boolean;
	/** Reports can be sent now (joined, not closed). */
	active(): boolean;
}

export class Viewports {
	readonly #ctx: ViewportContext;
	readonly #latest = new Map<string, TileViewport>();
	readonly #sent = new Map<string, string>();
	#timer: ReturnType<typeof setTimeout> | null = null;
	#lastFlush = 0;

	constructor(ctx: ViewportContext) {
		this.#ctx = ctx;
	}

	report(consumerId: string, viewport: TileViewport): void {
		this.#latest.set(consumerId, viewport);
		if (this.#timer) return;
		const wait = Math.max(0, this.#lastFlush + VIEWPORT_INTERVAL_MS - performance.now());
		this.#timer = setTimeout(() => this.#flush(), wait);
	}

	/** Whether the consumer's tile was last reported visible (the SFU assumes so until told). */
	visible(consumerId: string): boolean {
		return this.#latest.get(consumerId)?.visible ?? true;
	}

	forget(consumerId: string): void {
		this.#latest.delete(consumerId);
		this.#sent.delete(consumerId);
	}

	reset(): void {
		this.#latest.clear();
		this.#sent.clear();
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	#flush(): void {
		this.#timer = null;
		if (!this.#ctx.active()) return;
		const batch: (TileViewport & { consumerId: string })[] = [];
		for (const [consumerId, viewport] of this.#latest) {
			if (!this.#ctx.isVideo(consumerId)) continue;
			const key = `${viewport.width}x${viewport.height}:${viewport.visible}`;
			if (this.#sent.get(consumerId) === key) continue;
			this.#sent.set(consumerId, key);
			batch.push({ consumerId, ...viewport });
		}
		if (batch.length === 0) return;
		this.#lastFlush = performance.now();
		mark('viewports-sent');
		for (let i = 0; i < batch.length; i += BATCH_MAX) {
			const viewports = batch.slice(i, i + BATCH_MAX);
			this.#ctx.request('media:setViewports', { viewports }).catch((error: unknown) => {
				// Send again with the next report.
				for (const v of viewports) this.#sent.delete(v.consumerId);
				if (this.#ctx.active()) console.warn('[parley] viewport report failed', error);
			});
		}
	}
}
