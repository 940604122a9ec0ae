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
import { History } from './History.ts';
import { ReceiptBook } from './ReceiptBook.ts';
import { Typing } from './Typing.ts';

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
	/** Delay before retrying after a rate-limit answer, and the first backoff step when the store is unavailable (ms). */
	retryDelayMs?: number;
	/** Longest backoff between retries while the message store is unavailable (ms). */
	maxRetryDelayMs?: number;
	/** Make message ids (default crypto.randomUUID without dashes). */
	newId?: () => string;
	/** Called with each acknowledged send's round trip (ms), for metrics. */
	onAck?: (ms: number) => void;
}

/**
 * What the user should be told about the chat's link: `online`; `offline` (no connection:
 * "reconnecting, your messages will be sent"); `unavailable` (connected, but the server's
 * message store does not answer: same promise, retried with backoff).
 */
export type ChatStatus = 'online' | 'offline' | 'unavailable';

export interface ChatSnapshot {
	messages: readonly ChatMessage[];
	outbox: readonly OutgoingMessage[];
	/** Receipts of this participant's own messages (deliveries merged with everyone's read watermark). */
	receipts: ReadonlyMap<number, ChatReceipt>;
	status: ChatStatus;
	/** The message store's epoch the messages belong to (changes when the store restarted from empty). */
	epoch: string | undefined;
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
	readonly #history = new History();
	readonly #outbox: OutgoingMessage[] = [];
	readonly #receipts: ReceiptBook;
	readonly #typing = new Typing(() => this.#changed());
	readonly #listeners = new Set<() => void>();
	#hasMoreHistory = true;
	#flushing = false;
	#syncing: Promise<void> | undefined;
	#closed = false;
	#snapshot: ChatSnapshot | undefined;
	/**
	 * Every message visible to this participant up to here is held: set by a complete sync,
	 * then moved by live pushes (one connection delivers in order). Sent as the delivered
	 * watermark; `#deliveredSent` is what the server acknowledged.
	 */
	#heldUpTo = 0;
	#live = false;
	#deliveredSent = 0;
	#deliveredTimer: ReturnType<typeof setTimeout> | undefined;
	/** The message store's epoch the held messages belong to (undefined before the first answer). */
	#epoch: string | undefined;
	#unavailable = false;
	/** Consecutive `unavailable` answers (backoff exponent). */
	#failures = 0;
	readonly #off: (() => void)[] = [];

	constructor({ socket, identity, ...options }: ChatClientOptions) {
		this.#socket = socket;
		this.identity = identity;
		this.#receipts = new ReceiptBook(identity);
		this.#onAck = options.onAck;
		this.#options = {
			ackTimeoutMs: options.ackTimeoutMs ?? 8000,
			retryDelayMs: options.retryDelayMs ?? 1000,
			maxRetryDelayMs: options.maxRetryDelayMs ?? 8000,
			newId: options.newId ?? (() => crypto.randomUUID().replaceAll('-', '')),
		};
		const on = <E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void => {
			socket.on(event, listener as never);
			this.#off.push(() => socket.off(event, listener as never));
		};
		const onConnect = (): void => {
			void this.#resync();
			this.#scheduleDelivered();
			this.#changed();
		};
		const onDisconnect = (): void => {
			this.#live = false;
			this.#changed();
		};
		socket.on('connect', onConnect);
		socket.on('disconnect', onDisconnect);
		this.#off.push(() => socket.off('connect', onConnect), () => socket.off('disconnect', onDisconnect));
		on('chat:message', (message) => {
			const held = this.#history.get(message.seq);
			// Same seq, another message: the store restarted from empty. Resync (it checks the epoch).
			if (held && (held.id !== message.id || held.from !== message.from)) void this.#resync(true);
			this.#add([message]);
			if (this.#live && !this.#syncing && message.seq > this.#heldUpTo) {
				this.#heldUpTo = message.seq;
				this.#scheduleDelivered();
			}
			this.#changed();
		});
		on('chat:watermarks', ({ marks }) => {
			if (this.#receipts.raise(marks)) this.#changed();
		});
		on('chat:receipts', ({ receipts }) => {
			for (const r of receipts) this.#receipts.merge(r);
			this.#changed();
		});
		on('chat:typing', ({ identity: who, name, typing }) => this.#typing.set(who, name, typing));
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
		const oldest = this.#history.sorted[0]?.seq ?? null;
		const result = await this.#request('chat:history', { beforeSeq: oldest, limit });
		if (!result.ok) return;
		this.#hasMoreHistory = result.data.hasMore;
		this.#add(result.data.messages);
		for (const r of result.data.receipts) this.#receipts.merge(r);
		this.#changed();
	}

	/** Everything up to `seq` has been shown on screen. */
	async markRead(seq = this.#history.sorted.at(-1)?.seq ?? 0): Promise<void> {
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
			messages: this.#history.sorted.slice(),
			outbox: this.#outbox.map((m) => ({ ...m })),
			receipts: this.#receipts.own(this.#history.sorted),
			status: this.status,
			epoch: this.#epoch,
			typing: this.#typing.names(),
			hasMoreHistory: this.#hasMoreHistory,
		};
		return this.#snapshot;
	}

	get messages(): readonly ChatMessage[] {
		return this.#history.sorted;
	}

	get status(): ChatStatus {
		return !this.#socket.connected ? 'offline' : this.#unavailable ? 'unavailable' : 'online';
	}

	/** The store epoch the held messages belong to. */
	get epoch(): string | undefined {
		return this.#epoch;
	}

	/** Everyone's read watermark as this client knows it. */
	get readWatermarks(): ReadonlyMap<string, number> {
		return this.#receipts.readWatermarks;
	}

	/** The receipt of one of this participant's own messages: pushed deliveries merged with read watermarks. */
	receipt(seq: number): ChatReceipt | undefined {
		return this.#receipts.of(this.#history.get(seq));
	}

	get outbox(): readonly OutgoingMessage[] {
		return this.#outbox;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const off of this.#off) off();
		clearTimeout(this.#deliveredTimer);
		this.#typing.clear();
		this.#listeners.clear();
	}

	/**
	 * After (re)connecting: fetch everything after the watermark, then send the outbox. When
	 * the store answers another epoch than the one the held messages came from (it restarted
	 * from empty), drop what is held and sync from 0; the outbox is kept and sent after.
	 */
	#resync(again = false): Promise<void> {
		if (again && this.#syncing) {
			this.#syncAgain = true;
			return this.#syncing;
		}
		this.#syncing ??= (async () => {
			let synced = false;
			try {
				do {
					this.#syncAgain = false;
					synced = await this.#syncOnce();
				} while (this.#syncAgain && !this.#closed);
				if (synced) this.#changed();
			} finally {
				this.#syncing = undefined;
			}
			if (synced) {
				// Everything visible up to the sync's end is held; pushes move it on from here.
				this.#heldUpTo = Math.max(this.#heldUpTo, this.#history.watermark);
				this.#live = this.#socket.connected;
				this.#scheduleDelivered();
			}
			await this.#flush();
		})();
		return this.#syncing;
	}

	#syncAgain = false;

	async #syncOnce(): Promise<boolean> {
		let fromStart = this.#history.watermark === 0;
		for (;;) {
			const result = await this.#request('chat:sync', { afterSeq: this.#history.watermark, limit: 200 });
			if (!result.ok) {
				// A lost sync would leave a gap until the next reconnect: try again while connected.
				if (this.#closed || !this.#socket.connected || FINAL_ERRORS.has(result.error.code)) return false;
				await this.#backoff(result.error.code);
				continue;
			}
			this.#answered();
			if (this.#epoch !== undefined && result.data.epoch !== this.#epoch) {
				this.#epoch = result.data.epoch;
				this.#forget();
				fromStart = true;
				continue;
			}
			this.#epoch = result.data.epoch;
			this.#add(result.data.messages);
			const last = result.data.messages.at(-1)?.seq ?? this.#history.watermark;
			// Every visible message up to the page's end (or the room's lastSeq when complete) is held.
			this.#history.raiseWatermark(result.data.hasMore ? last : result.data.lastSeq);
			this.#receipts.raise(Object.entries(result.data.readUpTo ?? {}).map(([identity, readUpTo]) => ({ identity, readUpTo })));
			this.#receipts.raise(Object.entries(result.data.deliveredUpTo ?? {}).map(([identity, deliveredUpTo]) => ({ identity, deliveredUpTo })));
			if (!result.data.hasMore) break;
		}
		// Synced from the very start: every visible message is held, there is nothing older.
		if (fromStart) this.#hasMoreHistory = false;
		else if (this.#history.sorted.length === 0) await this.loadOlder();
		return true;
	}

	/** The store lost everything it had: so does this client (its unacknowledged outbox aside). */
	#forget(): void {
		this.#history.clear();
		this.#receipts.clear();
		this.#heldUpTo = 0;
		this.#deliveredSent = 0;
		this.#live = false;
		this.#hasMoreHistory = true;
		for (const item of this.#outbox) if (item.state === 'sending') item.state = 'queued';
		this.#changed();
	}

	/**
	 * Wait before a retry: the store unavailable backs off exponentially (with jitter) up to
	 * maxRetryDelayMs; anything else (rate limit, timeout) waits retryDelayMs.
	 */
	async #backoff(code: string): Promise<void> {
		let delay = this.#options.retryDelayMs;
		if (code === 'unavailable') {
			this.#failures++;
			if (!this.#unavailable) {
				this.#unavailable = true;
				this.#changed();
			}
			delay = Math.min(this.#options.maxRetryDelayMs, this.#options.retryDelayMs * 2 ** Math.min(this.#failures - 1, 10));
			delay = delay / 2 + Math.random() * (delay / 2);
		}
		await new Promise((r) => setTimeout(r, delay));
	}

	/** A request was answered: the store is back. */
	#answered(): void {
		this.#failures = 0;
		if (this.#unavailable) {
			this.#unavailable = false;
			this.#changed();
		}
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
					this.#answered();
					if (this.#epoch !== undefined && result.data.epoch !== this.#epoch) {
						// The store restarted from empty: resync from 0 (this message comes with it).
						const index = this.#outbox.indexOf(item);
						if (index >= 0) this.#outbox.splice(index, 1);
						void this.#resync(true);
						return;
					}
					// It may be gone already: a sync can bring the stored message first (see #add).
					const index = this.#outbox.indexOf(item);
					if (index >= 0) this.#outbox.splice(index, 1);
					this.#add([result.data.message]);
				} else if (FINAL_ERRORS.has(result.error.code)) {
					item.state = 'failed';
					item.error = result.error;
				} else {
					// Timeout, disconnect, store unavailable, rate limit, server error: same id again later.
					item.state = 'queued';
					this.#changed();
					if (!this.#socket.connected) return;
					await this.#backoff(result.error.code);
				}
				this.#changed();
			}
		} finally {
			this.#flushing = false;
		}
	}

	#add(messages: readonly ChatMessage[]): void {
		for (const m of this.#history.add(messages)) {
			// Stored although its ack was lost (sent just before a disconnect): it is no longer outgoing.
			if (m.from !== this.identity || this.#outbox.length === 0) continue;
			const index = this.#outbox.findIndex((o) => o.id === m.id);
			if (index >= 0) this.#outbox.splice(index, 1);
		}
	}

	/**
	 * Tell the server (at most every 100 ms) up to which seq everything visible is held: a
	 * watermark, so one small request covers any number of messages. What could not be sent
	 * (offline, lost answer, store unavailable) is sent after the next connect and sync.
	 */
	#scheduleDelivered(): void {
		if (this.#deliveredTimer || this.#heldUpTo <= this.#deliveredSent || this.#closed) return;
		this.#deliveredTimer = setTimeout(() => {
			if (!this.#socket.connected) {
				this.#deliveredTimer = undefined; // the next sync schedules it again
				return;
			}
			const upToSeq = this.#heldUpTo;
			void this.#request('chat:delivered', { upToSeq }).then(async (r) => {
				if (r.ok || FINAL_ERRORS.has(r.error.code)) {
					if (r.ok) this.#answered();
					this.#deliveredSent = Math.max(this.#deliveredSent, upToSeq);
				} else if (this.#socket.connected) await this.#backoff(r.error.code);
				this.#deliveredTimer = undefined;
				if (this.#socket.connected) this.#scheduleDelivered();
			});
		}, 100);
	}

	#request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<Result<ResponseData<K>>> {
		return emitWithAck(this.#socket, name, payload, this.#options.ackTimeoutMs);
	}

	#changed(): void {
		this.#snapshot = undefined;
		for (const listener of this.#listeners) listener();
	}
}
