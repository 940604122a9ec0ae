/**
 * Receiver tuning, the stall watch and the stats panel's data: every TUNING_INTERVAL_MS the
 * receive transport's stats re-tune each receiver's playout delay (receiverTuning.ts) and
 * show remote videos that never started (StallWatch.ts, made again), and the panel reads
 * the raw stats with labels for what each track and producer is.
 */
import type { Dynacast } from './Dynacast.ts';
import { mark, type Epoch } from './marks.ts';
import { JitterBufferTuner } from './receiverTuning.ts';
import { inboundVideoByTrack, StallWatch } from './StallWatch.ts';
import type { RemoteMedia } from './RemoteMedia.ts';
import type { TransportManager } from './TransportManager.ts';
import { tuning } from './tuning.ts';
import { UplinkGuard, uplinkSample } from './UplinkGuard.ts';
import type { ConsumerDescription, LocalProducer, ProducerDescription } from './types.ts';

const TUNING_INTERVAL_MS = 1000;
/** Retransmitted share of the camera's packets above which its uplink is heavily lossy (~0.11 at 10% random loss, ~0.3 at 30%). */
const LOSSY_UPLINK_RATIO = 0.2;
/**
 * Seconds of steady sending that share is judged over: random loss is there in every one of
 * them, while a starved machine's drops come in bursts (a 3 s window caught those on
 * loopback with a busy CPU).
 */
const LOSSY_UPLINK_WINDOW = 5;
/** Of those seconds, how many must each have over 6% retransmitted (not one burst). */
const LOSSY_UPLINK_SPREAD = 3;

export interface MediaStatsContext {
	epoch: Epoch;
	transports: TransportManager;
	remote: RemoteMedia;
	dynacast: Dynacast;
	producers(): LocalProducer[];
	/** The SFU's RTT to a peer (ms), if measured. */
	rttOf(peerId: string): number | null;
}

export class MediaStats {
	readonly #ctx: MediaStatsContext;
	readonly #tuner = new JitterBufferTuner({ heavyLossRoundTrips: tuning().heavyLossRoundTrips, latencyBudgetMs: tuning().latencyBudgetMs });
	readonly #stalls = new StallWatch();
	/** The camera's uplink guard, for the camera producer it watches. */
	#guard: { producerId: string; guard: UplinkGuard } | null = null;
	#timer: ReturnType<typeof setInterval> | null = null;

	constructor(ctx: MediaStatsContext) {
		this.#ctx = ctx;
	}

	/** Start re-tuning the receivers of this session. */
	start(generation: number): void {
		const { epoch, transports, remote } = this.#ctx;
		this.stop();
		this.#timer = setInterval(() => {
			if (epoch.isCurrent(generation) && (tuning().uplinkGuard || tuning().lossyLowLayerFps > 0)) this.#guardUplink();
			const transport = transports.recv;
			if (!epoch.isCurrent(generation) || !transport || transport.closed || remote.consumerCount === 0) return;
			transport.getStats().then(
				(report) => {
					if (!epoch.isCurrent(generation)) return;
					if (tuning().jitterBuffer) this.#tuner.update(report, remote.consumers(), (peerId) => this.#ctx.rttOf(peerId));
					// Nothing is due before the connection is up (ICE over TCP or a relay can take a while).
					const connected = transport.connectionState === 'connected';
					const videos = remote.watchedVideos().map((v) => (connected ? v : { ...v, due: false }));
					for (const stall of this.#stalls.check(videos, inboundVideoByTrack(report), performance.now())) {
						console.warn(`[parley] remote video stalled: no frame decoded, consuming it again ${JSON.stringify(stall)}`);
						mark('video-stalled');
						remote.remake(stall.consumerId);
					}
				},
				() => {},
			);
		}, TUNING_INTERVAL_MS);
	}

	/**
	 * While the camera's uplink is heavily lossy: the camera held to its lowest layer, at
	 * `lossyLowLayerFps`; or (tuning `uplinkGuard`) the guard's holds (UplinkGuard.ts).
	 */
	#guardUplink(): void {
		const camera = this.#ctx.producers().find((p) => p.appData.source === 'camera' && (p.rtpParameters.encodings ?? []).length > 1);
		if (!camera || camera.closed) {
			this.#guard = null;
			return;
		}
		const { uplinkGuard, heldLayerFps, lossyLowLayerFps } = tuning();
		if (this.#guard?.producerId !== camera.id) {
			this.#guard = { producerId: camera.id, guard: new UplinkGuard(uplinkGuard ? {} : { enterRatio: LOSSY_UPLINK_RATIO, window: LOSSY_UPLINK_WINDOW, spreadSamples: LOSSY_UPLINK_SPREAD }) };
		}
		const { guard } = this.#guard;
		camera.getStats().then(
			(report) => {
				if (camera.closed || this.#guard?.guard !== guard) return;
				const was = uplinkGuard ? guard.held : guard.lossy;
				const held = guard.update(uplinkSample(report, performance.now()));
				if (uplinkGuard) {
					if (held !== was) mark(held ? 'uplink-guard-hold' : 'uplink-guard-release');
					this.#ctx.dynacast.cap(camera, held ? 0 : null, guard.heavyLoss ? heldLayerFps : null);
					return;
				}
				if (guard.lossy !== was) mark(guard.lossy ? 'uplink-lossy' : 'uplink-clean');
				// Only the lowest layer: raising its frame rate while the browser keeps the next layer
				// on (suspended for bandwidth) did not take (it stayed at 15 fps), and under such loss
				// the send estimate (~100-250 kbps) has no room for that layer anyway.
				this.#ctx.dynacast.cap(camera, guard.lossy ? 0 : null, guard.lossy ? lossyLowLayerFps : null);
			},
			() => {},
		);
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		this.#guard = null;
		this.#tuner.reset();
		this.#stalls.reset();
	}

	/** What each receiving track is (to label inbound stats). */
	describeConsumers(): ConsumerDescription[] {
		const { remote } = this.#ctx;
		return remote.consumers().map((c) => ({
			consumerId: c.id,
			trackId: c.track.id,
			peerId: c.appData.peerId,
			peerName: remote.peerName(c.appData.peerId),
			kind: c.kind,
			source: c.appData.source,
			layers: remote.layersOf(c.id),
			jitterBufferTargetMs: this.#tuner.targetFor(c.id),
		}));
	}

	/** The local producers and the highest layer dynacast lets each encode. */
	describeProducers(): ProducerDescription[] {
		return this.#ctx.producers().map((p) => ({
			producerId: p.id,
			source: p.appData.source,
			kind: p.kind,
			encodings: p.rtpParameters.encodings?.length ?? 0,
			maxSpatialLayer: this.#ctx.dynacast.appliedFor(p.id) ?? null,
		}));
	}
}
