/**
 * Which simulcast/SVC layers a subscriber should get for how it shows a video. Pure
 * functions: the Peer applies the answer with consumer.setPreferredLayers(), and
 * mediasoup's bandwidth estimation may still deliver less than preferred.
 */
import type { types } from 'mediasoup';

export interface LayerLayout {
	/** Frame height of each spatial layer, lowest first. */
	heights: number[];
	/** Temporal layers per spatial layer (1 when none). */
	temporalLayers: number;
}

export interface Viewport {
	/** Rendered size in device pixels. */
	width: number;
	height: number;
	visible: boolean;
}

export interface Layers {
	spatialLayer: number;
	temporalLayer: number;
}

/** The default top-layer size when the publisher did not say (720p camera). */
export const DEFAULT_DIMENSIONS = { width: 1280, height: 720 } as const;

/** A layer up to this much smaller than the tile still looks sharp enough (upscaling by ≤ 1/0.8). */
const SHARPNESS_TOLERANCE = 0.8;

/** Spatial/temporal structure of a producer, from its encodings and the top layer's size. */
export function layoutOf(
	// mediasoup keeps what the client sent, including scaleResolutionDownBy (not in its type).
	encodings: readonly (types.RtpEncodingParameters & { scaleResolutionDownBy?: number })[],
	topHeight: number = DEFAULT_DIMENSIONS.height,
): LayerLayout {
	const temporal = (mode: string | undefined): number => Number(/T(\d)/.exec(mode ?? '')?.[1] ?? 1);
	if (encodings.length > 1) {
		// Simulcast: one encoding per spatial layer, lowest first.
		const n = encodings.length;
		return {
			heights: encodings.map((e, i) => Math.round(topHeight / (e.scaleResolutionDownBy ?? 2 ** (n - 1 - i)))),
			temporalLayers: temporal(encodings[0]?.scalabilityMode),
		};
	}
	const mode = encodings[0]?.scalabilityMode ?? '';
	const spatial = Number(/^L(\d)/.exec(mode)?.[1] ?? /^S(\d)/.exec(mode)?.[1] ?? 1);
	// SVC: each spatial layer doubles the resolution of the one below.
	return {
		heights: Array.from({ length: spatial }, (_, i) => Math.round(topHeight / 2 ** (spatial - 1 - i))),
		temporalLayers: temporal(mode),
	};
}

/**
 * The lowest spatial layer that looks sharp in the viewport (or the top one), all temporal
 * layers except for thumbnails. null: the video is not visible and should be paused.
 */
export function chooseLayers(layout: LayerLayout, viewport: Viewport): Layers | null {
	if (!viewport.visible || viewport.width === 0 || viewport.height === 0) return null;
	const top = layout.heights.length - 1;
	let spatialLayer = top;
	for (let i = 0; i <= top; i++) {
		if (layout.heights[i]! >= viewport.height * SHARPNESS_TOLERANCE) {
			spatialLayer = i;
			break;
		}
	}
	const maxTemporal = layout.temporalLayers - 1;
	// Thumbnails (under ~120 px high) get half the frame rate.
	const temporalLayer = viewport.height < 120 ? Math.max(0, maxTemporal - 1) : maxTemporal;
	return { spatialLayer, temporalLayer };
}
