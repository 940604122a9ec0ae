/**
 * How one subscriber shows each video it consumes (its viewport), whether its client is
 * ready for a consumer's media, and the layers each consumer asks for as a result: the
 * subscriber's demand of each producer (dynacast input). Peer applies the decisions to
 * the mediasoup consumers.
 */
import { chooseLayers, layoutOf, type LayerLayout, type Layers, type Viewport } from './chooseLayers.ts';
import type { Producer } from '../Peer.ts';

interface ConsumerView {
	producerId: string;
	ready: boolean;
	layout: LayerLayout;
	viewport: Viewport;
	/** The preferred layers last applied (null: paused because not visible, or audio). */
	layers: Layers | null;
}

/** Until the client reports a viewport, a video is assumed shown at 640x360. */
const DEFAULT_VIEWPORT: Viewport = { width: 640, height: 360, visible: true };

/** What a producer looks like to its viewers: its kind, simulcast encodings and capture height. */
export interface ViewedProducer {
	id: string;
	kind: 'audio' | 'video';
	encodings: Parameters<typeof layoutOf>[0];
	height: number;
}

/** What layer choice needs to know of a producer. */
export function viewedOf(producer: Producer): ViewedProducer {
	return { id: producer.id, kind: producer.kind, encodings: producer.rtpParameters.encodings ?? [], height: producer.appData.dimensions.height };
}

export class ConsumerViews {
	readonly #views = new Map<string, ConsumerView>();

	/** The layers a new consumer of this producer starts with (null for audio). */
	static initialLayers(producer: ViewedProducer): Layers | null {
		return initial(producer, layoutOf(producer.encodings, producer.height));
	}

	/** A consumer now exists (with the initial layers). */
	add(consumerId: string, producer: ViewedProducer): void {
		const layout = layoutOf(producer.encodings, producer.height);
		this.#views.set(consumerId, { producerId: producer.id, ready: false, layout, viewport: DEFAULT_VIEWPORT, layers: initial(producer, layout) });
	}

	delete(consumerId: string): void {
		this.#views.delete(consumerId);
	}

	/** The client is ready for this consumer's media: whether to resume it (not a hidden video). */
	ready(consumerId: string, kind: 'audio' | 'video'): boolean {
		const view = this.#get(consumerId);
		view.ready = true;
		return kind !== 'video' || view.viewport.visible;
	}

	/** A new viewport: the layers to ask for (null: pause), whether they changed, and whether the client is ready. */
	setViewport(consumerId: string, viewport: Viewport): { layers: Layers | null; changed: boolean; ready: boolean } {
		const view = this.#get(consumerId);
		view.viewport = viewport;
		const layers = chooseLayers(view.layout, viewport);
		const changed = JSON.stringify(layers) !== JSON.stringify(view.layers);
		view.layers = layers;
		return { layers, changed, ready: view.ready };
	}

	/**
	 * The highest spatial layer asked of a producer: -1 when it is consumed but shown
	 * nowhere, undefined when it is not consumed.
	 */
	demandFor(producerId: string): number | undefined {
		let demand: number | undefined;
		for (const view of this.#views.values()) {
			if (view.producerId !== producerId) continue;
			demand = Math.max(demand ?? -1, view.layers ? view.layers.spatialLayer : -1);
		}
		return demand;
	}

	#get(consumerId: string): ConsumerView {
		const view = this.#views.get(consumerId);
		if (!view) throw new Error(`no view of consumer ${consumerId}`);
		return view;
	}
}

function initial(producer: ViewedProducer, layout: LayerLayout): Layers | null {
	return producer.kind === 'video' ? chooseLayers(layout, DEFAULT_VIEWPORT) : null;
}
