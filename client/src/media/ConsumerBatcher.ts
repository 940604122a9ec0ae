/**
 * Hands consume answers to mediasoup-client in groups: answers that arrive close together
 * go in one tick, so they share one SDP negotiation (what makes a join fast), and so do
 * those that arrive while a negotiation runs. Groups run one after the other, so a group is
 * exactly one negotiation; a consumer under suspicion runs in a group of its own.
 *
 * A group whose negotiation fails takes the receive connection with it (mediasoup-client
 * keeps the failed m-sections in its remote SDP, so every later negotiation fails too):
 * its items are rejected with a NegotiationError and the owner is told once
 * (`onGroupFailed`) so it can open a fresh receive transport and isolate the culprit.
 * A consumer refused on its own (mediasoup-client's capability check) fails alone.
 */
import type { types as msc } from 'mediasoup-client';
import type { ConsumerOptions } from '../../../signaling/protocol/index.ts';
import type { ConsumerAppData, RemoteConsumer } from './types.ts';
import { mark } from './marks.ts';
import { wire } from './wire.ts';

/** A consumer that was part of a failed SDP negotiation. */
export class NegotiationError extends Error {
	constructor(cause: unknown) {
		super(`media negotiation failed: ${cause instanceof Error ? cause.message : String(cause)}`);
		this.name = 'NegotiationError';
	}
}

export interface Created {
	consumer: RemoteConsumer;
	/** The resume request if it was sent ahead of the negotiation (see `resumeEarly`). */
	resumed: Promise<unknown> | null;
}

export interface BatcherContext {
	/** Consume requests still waiting for their answers (a short wait lets them join the group). */
	inflight(): number;
	/** The consumer with this id negotiated in the lobby on `transport` (preparedReceive.ts), if any: no negotiation for it. */
	prepared(consumerId: string, transport: msc.Transport): msc.Consumer | null;
	/** Resume on the server before negotiating (null: not now). */
	resumeEarly(consumerId: string): Promise<unknown> | null;
	/** A negotiation failed: these consumers (a group of one: the culprit) are lost with the receive connection. */
	onGroupFailed(failed: readonly ConsumerOptions[], error: unknown): void;
}

interface Pending {
	transport: msc.Transport;
	options: ConsumerOptions;
	alone: boolean;
	resolve: (created: Created) => void;
	reject: (reason: unknown) => void;
}

const IDLE: Promise<void> = Promise.resolve();
const noop = (): void => undefined;

/** How long to wait for more answers that are on the way (e.g. a camera and a microphone). */
const GATHER_MS = 20;

export class ConsumerBatcher {
	readonly #ctx: BatcherContext;
	#pending: Pending[] = [];
	#timer: ReturnType<typeof setTimeout> | null = null;
	#lane: Promise<void> = IDLE;
	/** Media streams named otherwise than `<peer>-user|screen` (in the lobby), by that name. */
	readonly #streams = new Map<string, string>();

	constructor(ctx: BatcherContext) {
		this.#ctx = ctx;
	}

	/** Create a consumer from the server's answer; `alone` keeps it out of anyone else's negotiation. */
	add(transport: msc.Transport, options: ConsumerOptions, alone = false): Promise<Created> {
		return new Promise<Created>((resolve, reject) => {
			this.#pending.push({ transport, options, alone, resolve, reject });
			this.#schedule();
		});
	}

	/**
	 * Start the next group: now, or after a short wait for answers on the way. While a group
	 * negotiates, what arrives waits and goes out together when it is done (on a busy page a
	 * negotiation takes 0.3-3 s; consumers arriving one by one meanwhile, as after a move,
	 * would each be another negotiation after it).
	 */
	#schedule(): void {
		if (this.#lane !== IDLE || this.#pending.length === 0) return;
		if (this.#ctx.inflight() === 0) this.#flush();
		else this.#timer ??= setTimeout(() => this.#flush(), GATHER_MS);
	}

	reset(reason: unknown): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		for (const p of this.#pending.splice(0)) p.reject(reason);
		this.#lane = IDLE;
	}

	#flush(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		const batch = this.#pending.splice(0);
		const together = batch.filter((p) => !p.alone);
		const groups = [...(together.length ? [together] : []), ...batch.filter((p) => p.alone).map((p) => [p])];
		for (const group of groups) {
			const lane = this.#lane;
			// The first group goes out in this very tick (no await when nothing runs before it).
			const next = (lane === IDLE ? this.#run(group) : lane.then(() => this.#run(group))).then(noop, noop);
			this.#lane = next;
			void next.then(() => {
				if (this.#lane !== next) return;
				this.#lane = IDLE;
				this.#schedule();
			});
		}
	}

	async #run(group: Pending[]): Promise<void> {
		const started = group.map(({ transport, options }) => {
			const appData: ConsumerAppData = { peerId: options.peerId, source: options.source };
			const stream = `${options.peerId}-${options.source.startsWith('screen') ? 'screen' : 'user'}`;
			const prepared = this.#ctx.prepared(options.id, transport);
			if (prepared) {
				// Its stream was named in the lobby (not knowing whose it was): this person's later consumers join it.
				const named = prepared.appData.streamId;
				if (typeof named === 'string') this.#streams.set(stream, named);
				// Negotiated in the lobby; the join resumed it on the server (`resumed`) unless that failed.
				Object.assign(prepared.appData, appData);
				mark(`consumer-prepared-${prepared.kind}`);
				return Promise.resolve({ consumer: prepared as RemoteConsumer, resumed: options.resumed ? Promise.resolve() : null });
			}
			const resumed = this.#ctx.resumeEarly(options.id);
			resumed?.catch(() => {});
			const consumer = transport.consume<ConsumerAppData>({
				id: options.id,
				producerId: options.producerId,
				kind: options.kind,
				rtpParameters: wire.rtpParameters(options.rtpParameters),
				// Same stream id for a person's camera and microphone: the browser syncs their playout.
				streamId: this.#streams.get(stream) ?? stream,
				appData,
			});
			return consumer.then((c) => ({ consumer: c, resumed }));
		});
		const results = await Promise.allSettled(started);
		const failed: ConsumerOptions[] = [];
		let cause: unknown;
		results.forEach((result, i) => {
			const item = group[i]!;
			if (result.status === 'fulfilled') item.resolve(result.value);
			else if (refusedAlone(result.reason)) item.reject(result.reason);
			else {
				failed.push(item.options);
				cause = result.reason;
			}
		});
		if (failed.length === 0) return;
		this.#ctx.onGroupFailed(failed, cause);
		for (const [i, result] of results.entries()) {
			if (result.status === 'rejected' && !refusedAlone(result.reason)) group[i]!.reject(new NegotiationError(cause));
		}
	}
}


/** mediasoup-client's own checks (before any negotiation) reject one consumer without touching the connection. */
function refusedAlone(error: unknown): boolean {
	return error instanceof TypeError || (error instanceof Error && (error.name === 'UnsupportedError' || error.name === 'InvalidStateError'));
}
