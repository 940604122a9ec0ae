/**
 * The messaging half of a participant, without any UI or DOM: an outbox that survives
 * disconnects (messages keep their ids and are re-sent in order until acknowledged), a
 * history kept in seq order without duplicates, resync after every reconnect, and
 * delivered/read receipts. Used by the browser client and by the reliability tests.
 *
 * The parts: Outbox (sending), StoreLink (requests, final errors, backoff while the store is
 * unavailable), History, ReceiptBook and Typing. The sync and the delivered watermark are here.
 */
import type { Socket } from 'socket.io-client';
import type {
	ChatAttachment,
	ChatMessage,
	ChatReceipt,
	ClientToServerEvents,
	ResponseData,
	ServerToClientEvents,
} from '../../../signaling/protocol/index.ts';
import { History } from './History.ts';
import { Outbox, type OutgoingMessage } from './Outbox.ts';
import { ReceiptBook } from './ReceiptBook.ts';
import { StoreLink, type StoreLinkOptions } from './StoreLink.ts';
import { Typing } from './Typing.ts';

export type { OutboxState, OutgoingMessage } from './Outbox.ts';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ChatClientOptions extends Partial<StoreLinkOptions> {
	socket: ChatSocket;
	/** This participant's identity (from the token). */
	identity: string;
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

export class ChatClient {
	readonly identity: string;
	readonly #socket: ChatSocket;
	readonly #newId: () => string;
	readonly #link: StoreLink;
	readonly #history = new History();
	readonly #outbox: Outbox;
	readonly #receipts: ReceiptBook;
	readonly #typing = new Typing(() => this.#changed());
	readonly #listeners = new Set<() => void>();
	#hasMoreHistory = true;
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
	/** Read up to here (markRead), and what the server acknowledged of it. */
	#readWanted = 0;
	#readSent = 0;
	/** The read watermark's sends, one after the other. */
	#reading: Promise<void> = Promise.resolve();
	/** The message store's epoch the held messages belong to (undefined before the first answer). */
	#epoch: string | undefined;
	readonly #off: (() => void)[] = [];

	constructor({ socket, identity, ...options }: ChatClientOptions) {
		this.#socket = socket;
		this.identity = identity;
		this.#receipts = new ReceiptBook(identity);
		this.#newId = options.newId ?? (() => crypto.randomUUID().replaceAll('-', ''));
		const link = {
			ackTimeoutMs: options.ackTimeoutMs ?? 8000,
			retryDelayMs: options.retryDelayMs ?? 1000,
			maxRetryDelayMs: options.maxRetryDelayMs ?? 8000,
		};
		this.#link = new StoreLink(socket, link, () => this.#changed());
		this.#outbox = new Outbox({
			link: this.#link,
			connected: () => socket.connected,
			syncing: () => this.#syncing !== undefined,
			stored: (answer) => this.#stored(answer),
			changed: () => this.#changed(),
			onAck: options.onAck,
		});
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
		const id = this.#newId();
		this.#outbox.queue(id, text, options);
		return id;
	}

	/** Put a failed message back in the queue. */
	retry(id: string): void {
		this.#outbox.retry(id);
	}

	discard(id: string): void {
		this.#outbox.discard(id);
	}

	/** Load an older page of history (for scrolling up). */
	async loadOlder(limit = 50): Promise<void> {
		const oldest = this.#history.sorted[0]?.seq ?? null;
		const result = await this.#link.request('chat:history', { beforeSeq: oldest, limit });
		if (!result.ok) return;
		this.#hasMoreHistory = result.data.hasMore;
		this.#add(result.data.messages);
		for (const r of result.data.receipts) this.#receipts.merge(r);
		this.#changed();
	}

	/** Everything up to `seq` has been shown on screen. */
	async markRead(seq = this.#history.sorted.at(-1)?.seq ?? 0): Promise<void> {
		if (seq <= 0) return;
		this.#readWanted = Math.max(this.#readWanted, seq);
		await this.#sendRead();
	}

	/**
	 * Send the read watermark until the server acknowledges it: a rate limit, a lost answer or an
	 * unavailable store is retried while connected; offline, it goes after the next sync.
	 */
	#sendRead(): Promise<void> {
		// Queued after the run under way (which ends at once when that one sent it already).
		this.#reading = this.#reading.then(async () => {
			while (!this.#closed && this.#socket.connected && this.#readWanted > this.#readSent) {
				const upToSeq = this.#readWanted;
				const r = await this.#link.request('chat:read', { upToSeq });
				if (r.ok || StoreLink.isFinal(r.error.code)) {
					if (r.ok) this.#link.answered();
					this.#readSent = Math.max(this.#readSent, upToSeq);
				} else if (this.#socket.connected) await this.#link.backoff(r.error.code);
			}
		});
		return this.#reading;
	}

	/** Say whether this person is typing (to everyone, or to `to`): false when not sent or refused (e.g. the typing rate limit). */
	async setTyping(typing: boolean, to: string | null = null): Promise<boolean> {
		if (!this.#socket.connected) return false;
		return (await this.#link.request('chat:typing', { typing, to })).ok;
	}

	subscribe(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** An immutable view, the same object until something changes (for useSyncExternalStore). */
	snapshot(): ChatSnapshot {
		this.#snapshot ??= {
			messages: this.#history.sorted.slice(),
			outbox: this.#outbox.items.map((m) => ({ ...m })),
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
		return !this.#socket.connected ? 'offline' : this.#link.unavailable ? 'unavailable' : 'online';
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
		return this.#outbox.items;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const off of this.#off) off();
		this.#outbox.close();
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
				void this.#sendRead();
			}
			await this.#outbox.flush();
		})();
		return this.#syncing;
	}

	#syncAgain = false;

	async #syncOnce(): Promise<boolean> {
		let fromStart = this.#history.watermark === 0;
		for (;;) {
			const result = await this.#link.request('chat:sync', { afterSeq: this.#history.watermark, limit: 200 });
			if (!result.ok) {
				// A lost sync would leave a gap until the next reconnect: try again while connected.
				if (this.#closed || !this.#socket.connected || StoreLink.isFinal(result.error.code)) return false;
				await this.#link.backoff(result.error.code);
				continue;
			}
			this.#link.answered();
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
		// Seqs of the old store: what was read there means nothing here.
		this.#readWanted = this.#readSent = 0;
		this.#live = false;
		this.#hasMoreHistory = true;
		this.#outbox.requeue();
		this.#changed();
	}

	/** The server stored a message of the outbox: false when its answer comes from another store epoch. */
	#stored({ epoch, message }: ResponseData<'chat:send'>): boolean {
		if (this.#epoch !== undefined && epoch !== this.#epoch) {
			// The store restarted from empty: resync from 0 (this message comes with it).
			void this.#resync(true);
			return false;
		}
		this.#add([message]);
		return true;
	}

	#add(messages: readonly ChatMessage[]): void {
		for (const m of this.#history.add(messages)) {
			// Stored although its ack was lost (sent just before a disconnect): it is no longer outgoing.
			if (m.from === this.identity) this.#outbox.remove(m.id);
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
			void this.#link.request('chat:delivered', { upToSeq }).then(async (r) => {
				if (r.ok || StoreLink.isFinal(r.error.code)) {
					if (r.ok) this.#link.answered();
					this.#deliveredSent = Math.max(this.#deliveredSent, upToSeq);
				} else if (this.#socket.connected) await this.#link.backoff(r.error.code);
				this.#deliveredTimer = undefined;
				if (this.#socket.connected) this.#scheduleDelivered();
			});
		}, 100);
	}

	#changed(): void {
		this.#snapshot = undefined;
		for (const listener of this.#listeners) listener();
	}
}
