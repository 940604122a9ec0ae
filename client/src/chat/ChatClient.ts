/**
 * The messaging half of a participant, without any UI or DOM: an outbox that survives
 * disconnects (messages keep their ids and are re-sent in order until acknowledged), a
 * history kept in seq order without duplicates, resync after every reconnect, and
 * delivered/read receipts. Used by the browser client and by the reliability tests.
 */
import type { Socket } from 'socket.io-client';
import type {
	ChatAttachment,
	ChatMessage,
	ChatReceipt,
	ClientToServerEvents,
	ErrorCode,
	RequestName,
	RequestPayload,
	ResponseData,
	Result,
	ServerToClientEvents,
} from '../../../signaling/protocol/index.ts';
import { emitWithAck } from '../../../signaling/protocol/request.ts';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

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

export interface ChatClientOptions {
	socket: ChatSocket;
	/** This participant's identity (from the token). */
	identity: string;
	/** How long to wait for an ack before treating the request as lost (ms). */
	ackTimeoutMs?: number;
	/** Delay before retrying after a rate-limit answer (ms). */
	retryDelayMs?: number;
	/** Make message ids (default crypto.randomUUID without dashes). */
	newId?: () => string;
	/** Called with each acknowledged send's round trip (ms), for metrics. */
	onAck?: (ms: number) => void;
}

export interface ChatSnapshot {
	messages: readonly ChatMessage[];
	outbox: readonly OutgoingMessage[];
	receipts: ReadonlyMap<number, ChatReceipt>;
	/** Someone typing, by identity → name. */
	typing: ReadonlyMap<string, string>;
	hasMoreHistory: boolean;
}

/** Errors after which a retry cannot succeed: the message is marked failed. */
const FINAL_ERRORS: ReadonlySet<string> = new Set(['bad_request', 'forbidden', 'not_found', 'unknown_event', 'unauthorized']);

export class ChatClient {
	readonly identity: string;
	readonly #socket: ChatSocket;
	readonly #options: Required<Omit<ChatClientOptions, 'socket' | 'identity' | 'onAck'>>;
	readonly #onAck: ((ms: number) => void) | undefined;
	readonly #messages = new Map<number, ChatMessage>();
	#sorted: ChatMessage[] = [];
	readonly #outbox: OutgoingMessage[] = [];
	readonly #receipts = new Map<number, ChatReceipt>();
	readonly #typing = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();
	readonly #listeners = new Set<() => void>();
	/** Every visible message up to this seq is held (the resync point). */
	#watermark = 0;
	#hasMoreHistory = true;
	#flushing = false;
	#syncing: Promise<void> | undefined;
	#closed = false;
	#snapshot: ChatSnapshot | undefined;
	#pendingDelivered = new Set<number>();
	#deliveredTimer: ReturnType<typeof setTimeout> | undefined;
	readonly #off: (() => void)[] = [];

	constructor({ socket, identity, ...options }: ChatClientOptions) {
		this.#socket = socket;
		this.identity = identity;
		this.#onAck = options.onAck;
		this.#options = {
			ackTimeoutMs: options.ackTimeoutMs ?? 8000,
			retryDelayMs: options.retryDelayMs ?? 1000,
			newId: options.newId ?? (() => crypto.randomUUID().replaceAll('-', '')),
		};
		const on = <E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void => {
			socket.on(event, listener as never);
			this.#off.push(() => socket.off(event, listener as never));
		};
		const onConnect = (): void => void this.#resync();
		socket.on('connect', onConnect);
		this.#off.push(() => socket.off('connect', onConnect));
		on('chat:message', (message) => {
			this.#add([message]);
			this.#changed();
		});
		on('chat:receipts', ({ receipts }) => {
			for (const r of receipts) this.#setReceipt(r);
			this.#changed();
		});
		on('chat:typing', ({ identity: who, name, typing }) => this.#setTyping(who, name, typing));
		if (socket.connected) void this.#resync();
	}

	/** Queue a message; it is sent now if connected, else on reconnect. Returns its id. */
	send(text: string, options: { to?: string | null; attachment?: ChatAttachment | null } = {}): string {
		const id = this.#options.newId();
		this.#outbox.push({
			id,
			text,
			to: options.to ?? null,
			attachment: options.attachment ?? null,
			state: 'queued',
			queuedAt: Date.now(),
		});
		this.#changed();
		void this.#flush();
		return id;
	}

	/** Put a failed message back in the queue. */
	retry(id: string): void {
		const item = this.#outbox.find((m) => m.id === id);
		if (item?.state === 'failed') {
			item.state = 'queued';
			delete item.error;
			this.#changed();
			void this.#flush();
		}
	}

	discard(id: string): void {
		const index = this.#outbox.findIndex((m) => m.id === id && m.state === 'failed');
		if (index >= 0) this.#outbox.splice(index, 1);
		this.#changed();
	}

	/** Load an older page of history (for scrolling up). */
	async loadOlder(limit = 50): Promise<void> {
		const oldest = this.#sorted[0]?.seq ?? null;
		const result = await this.#request('chat:history', { beforeSeq: oldest, limit });
		if (!result.ok) return;
		this.#hasMoreHistory = result.data.hasMore;
		this.#add(result.data.messages);
		for (const r of result.data.receipts) this.#setReceipt(r);
		this.#changed();
	}

	/** Everything up to `seq` has been shown on screen. */
	async markRead(seq = this.#sorted.at(-1)?.seq ?? 0): Promise<void> {
		if (seq <= 0 || !this.#socket.connected) return;
		await this.#request('chat:read', { upToSeq: seq });
	}

	async setTyping(typing: boolean, to: string | null = null): Promise<void> {
		if (this.#socket.connected) await this.#request('chat:typing', { typing, to });
	}

	subscribe(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** An immutable view, the same object until something changes (for useSyncExternalStore). */
	snapshot(): ChatSnapshot {
		this.#snapshot ??= {
			messages: this.#sorted,
			outbox: this.#outbox.map((m) => ({ ...m })),
			receipts: new Map(this.#receipts),
			typing: new Map([...this.#typing].map(([k, v]) => [k, v.name])),
			hasMoreHistory: this.#hasMoreHistory,
		};
		return this.#snapshot;
	}

	get messages(): readonly ChatMessage[] {
		return this.#sorted;
	}

	get outbox(): readonly OutgoingMessage[] {
		return this.#outbox;
	}

	/** Resolves when nothing is waiting to be sent (or only failed messages are). */
	async drained(pollMs = 50): Promise<void> {
		while (this.#outbox.some((m) => m.state !== 'failed')) await new Promise((r) => setTimeout(r, pollMs));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const off of this.#off) off();
		clearTimeout(this.#deliveredTimer);
		for (const t of this.#typing.values()) clearTimeout(t.timer);
		this.#listeners.clear();
	}

	/** After (re)connecting: fetch everything after the watermark, then send the outbox. */
	#resync(): Promise<void> {
		this.#syncing ??= (async () => {
			let synced = false;
			try {
				const fromStart = this.#watermark === 0;
				for (;;) {
					const result = await this.#request('chat:sync', { afterSeq: this.#watermark, limit: 200 });
					if (!result.ok) {
						// A lost sync would leave a gap until the next reconnect: try again while connected.
						if (this.#closed || !this.#socket.connected || FINAL_ERRORS.has(result.error.code)) return;
						await new Promise((r) => setTimeout(r, this.#options.retryDelayMs));
						continue;
					}
					this.#add(result.data.messages);
					const last = result.data.messages.at(-1)?.seq ?? this.#watermark;
					// Every visible message up to the page's end (or the room's lastSeq when complete) is held.
					this.#watermark = Math.max(this.#watermark, result.data.hasMore ? last : result.data.lastSeq);
					if (!result.data.hasMore) break;
				}
				synced = true;
				// Synced from the very start: every visible message is held, there is nothing older.
				if (fromStart) this.#hasMoreHistory = false;
				else if (this.#sorted.length === 0) await this.loadOlder();
				this.#changed();
			} finally {
				this.#syncing = undefined;
			}
			if (synced) void this.#refreshReceipts();
			await this.#flush();
		})();
		return this.#syncing;
	}

	/**
	 * Receipts are pushed only to connected sockets, and chat:sync carries none: after a
	 * (re)connect, fetch those of this participant's messages in the latest page.
	 */
	async #refreshReceipts(): Promise<void> {
		if (this.#closed || !this.#sorted.some((m) => m.from === this.identity)) return;
		const result = await this.#request('chat:history', { beforeSeq: null, limit: 50 });
		if (!result.ok || this.#closed) return;
		this.#add(result.data.messages);
		for (const r of result.data.receipts) this.#setReceipt(r);
		this.#changed();
	}

	/** Receipts only grow: merge, so that an older answer never hides a newer push. */
	#setReceipt(r: ChatReceipt): void {
		const old = this.#receipts.get(r.seq);
		this.#receipts.set(
			r.seq,
			old
				? {
						seq: r.seq,
						deliveredTo: [...new Set([...old.deliveredTo, ...r.deliveredTo])],
						readBy: [...new Set([...old.readBy, ...r.readBy])],
					}
				: r,
		);
	}

	/** Send queued messages one at a time, in order, so that their seqs keep the sender's order. */
	async #flush(): Promise<void> {
		if (this.#flushing || this.#closed) return;
		this.#flushing = true;
		try {
			for (;;) {
				if (!this.#socket.connected || this.#syncing) return;
				const item = this.#outbox.find((m) => m.state === 'queued' || m.state === 'sending');
				if (!item) return;
				item.state = 'sending';
				this.#changed();
				const started = performance.now();
				const result = await this.#request('chat:send', {
					id: item.id,
					text: item.text,
					to: item.to,
					attachment: item.attachment ? { fileId: item.attachment.fileId } : null,
				});
				if (result.ok) {
					this.#onAck?.(performance.now() - started);
					// It may be gone already: a sync can bring the stored message first (see #add).
					const index = this.#outbox.indexOf(item);
					if (index >= 0) this.#outbox.splice(index, 1);
					this.#add([result.data.message]);
				} else if (FINAL_ERRORS.has(result.error.code)) {
					item.state = 'failed';
					item.error = result.error;
				} else {
					// Timeout, disconnect, rate limit, server error: same id again later.
					item.state = 'queued';
					this.#changed();
					if (!this.#socket.connected) return;
					await new Promise((r) => setTimeout(r, this.#options.retryDelayMs));
				}
				this.#changed();
			}
		} finally {
			this.#flushing = false;
		}
	}

	#add(messages: readonly ChatMessage[]): void {
		let added = false;
		for (const m of messages) {
			if (this.#messages.has(m.seq)) continue;
			this.#messages.set(m.seq, m);
			added = true;
			if (m.from !== this.identity) this.#pendingDelivered.add(m.seq);
			// Stored although its ack was lost (sent just before a disconnect): it is no longer outgoing.
			else if (this.#outbox.length > 0) {
				const index = this.#outbox.findIndex((o) => o.id === m.id);
				if (index >= 0) this.#outbox.splice(index, 1);
			}
		}
		if (!added) return;
		this.#sorted = [...this.#messages.values()].sort((a, b) => a.seq - b.seq);
		// Advance the watermark over contiguous seqs.
		while (this.#messages.has(this.#watermark + 1)) this.#watermark++;
		this.#scheduleDelivered();
	}

	#scheduleDelivered(): void {
		if (this.#deliveredTimer || this.#pendingDelivered.size === 0) return;
		this.#deliveredTimer = setTimeout(() => {
			this.#deliveredTimer = undefined;
			if (!this.#socket.connected) return;
			const seqs = [...this.#pendingDelivered].slice(0, 200);
			for (const s of seqs) this.#pendingDelivered.delete(s);
			void this.#request('chat:delivered', { seqs }).then((r) => {
				if (!r.ok && !FINAL_ERRORS.has(r.error.code)) for (const s of seqs) this.#pendingDelivered.add(s);
				this.#scheduleDelivered();
			});
		}, 100);
	}

	#setTyping(identity: string, name: string, typing: boolean): void {
		const current = this.#typing.get(identity);
		if (current) clearTimeout(current.timer);
		if (typing) {
			// A typing flag expires on its own if the "stopped" event never comes.
			const timer = setTimeout(() => this.#setTyping(identity, name, false), 6000);
			this.#typing.set(identity, { name, timer });
		} else this.#typing.delete(identity);
		this.#changed();
	}

	#request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<Result<ResponseData<K>>> {
		return emitWithAck(this.#socket, name, payload, this.#options.ackTimeoutMs);
	}

	#changed(): void {
		this.#snapshot = undefined;
		for (const listener of this.#listeners) listener();
	}
}
