/**
 * The outbox: this participant's messages the server has not acknowledged yet. They survive
 * disconnects and keep their ids, and go out one at a time, in order (so that their seqs keep
 * the sender's order), again until acknowledged: the server stores an id once. A message
 * refused for good (a final error) is marked failed, for the person to retry or discard.
 */
import type { ChatAttachment, ErrorCode, ResponseData } from '../../../signaling/protocol/index.ts';
import { StoreLink } from './StoreLink.ts';

export type OutboxState = 'queued' | 'sending' | 'failed';

export interface OutgoingMessage {
	id: string;
	text: string;
	to: string | null;
	attachment: ChatAttachment | null;
	state: OutboxState;
	error?: { code: ErrorCode; message: string };
	queuedAt: number;
}

export interface OutboxContext {
	link: StoreLink;
	connected(): boolean;
	/** A sync is under way: sending waits (the sync sends the outbox when it is done). */
	syncing(): boolean;
	/** The server stored a message: false when its answer says the store restarted from empty (stop sending). */
	stored(answer: ResponseData<'chat:send'>): boolean;
	changed(): void;
	/** Called with each acknowledged send's round trip (ms), for metrics. */
	onAck: ((ms: number) => void) | undefined;
}

export class Outbox {
	readonly #ctx: OutboxContext;
	readonly #items: OutgoingMessage[] = [];
	#flushing = false;
	#closed = false;

	constructor(ctx: OutboxContext) {
		this.#ctx = ctx;
	}

	get items(): readonly OutgoingMessage[] {
		return this.#items;
	}

	/** Queue a message and send it now if connected (else after the next connect and sync). */
	queue(id: string, text: string, options: { to?: string | null; attachment?: ChatAttachment | null }): void {
		this.#items.push({
			id,
			text,
			to: options.to ?? null,
			attachment: options.attachment ?? null,
			state: 'queued',
			queuedAt: Date.now(),
		});
		this.#ctx.changed();
		void this.flush();
	}

	/** Put a failed message back in the queue. */
	retry(id: string): void {
		const item = this.#items.find((m) => m.id === id);
		if (item?.state === 'failed') {
			item.state = 'queued';
			delete item.error;
			this.#ctx.changed();
			void this.flush();
		}
	}

	discard(id: string): void {
		const index = this.#items.findIndex((m) => m.id === id && m.state === 'failed');
		if (index >= 0) this.#items.splice(index, 1);
		this.#ctx.changed();
	}

	/** The message is stored (its ack may have been lost): it is no longer outgoing. */
	remove(id: string): void {
		if (this.#items.length === 0) return;
		const index = this.#items.findIndex((o) => o.id === id);
		if (index >= 0) this.#items.splice(index, 1);
	}

	/** The store lost everything: what was being sent is queued again. */
	requeue(): void {
		for (const item of this.#items) if (item.state === 'sending') item.state = 'queued';
	}

	/** Send queued messages one at a time, in order, so that their seqs keep the sender's order. */
	async flush(): Promise<void> {
		if (this.#flushing || this.#closed) return;
		const { link } = this.#ctx;
		this.#flushing = true;
		try {
			for (;;) {
				if (!this.#ctx.connected() || this.#ctx.syncing()) return;
				const item = this.#items.find((m) => m.state === 'queued' || m.state === 'sending');
				if (!item) return;
				item.state = 'sending';
				this.#ctx.changed();
				const started = performance.now();
				const result = await link.request('chat:send', {
					id: item.id,
					text: item.text,
					to: item.to,
					attachment: item.attachment ? { fileId: item.attachment.fileId } : null,
				});
				if (result.ok) {
					this.#ctx.onAck?.(performance.now() - started);
					link.answered();
					// It may be gone already: a sync can bring the stored message first (see remove).
					const index = this.#items.indexOf(item);
					if (index >= 0) this.#items.splice(index, 1);
					if (!this.#ctx.stored(result.data)) return;
				} else if (StoreLink.isFinal(result.error.code)) {
					item.state = 'failed';
					item.error = result.error;
				} else {
					// Timeout, disconnect, store unavailable, rate limit, server error: same id again later.
					item.state = 'queued';
					this.#ctx.changed();
					if (!this.#ctx.connected()) return;
					await link.backoff(result.error.code);
				}
				this.#ctx.changed();
			}
		} finally {
			this.#flushing = false;
		}
	}

	/** Stop sending (idempotent); what is queued stays readable. */
	close(): void {
		this.#closed = true;
	}
}
