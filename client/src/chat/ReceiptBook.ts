/**
 * Receipts of one participant's own messages, as its chat client knows them: everyone's
 * read and delivered watermarks (identity → everything visible to it up to this seq) and
 * the explicit receipts the server pushed or answered. They only grow: an older answer
 * never hides a newer push.
 */
import type { ChatMessage, ChatReceipt } from '../../../signaling/protocol/index.ts';

export class ReceiptBook {
	readonly #identity: string;
	readonly #explicit = new Map<number, ChatReceipt>();
	readonly #readUpTo = new Map<string, number>();
	readonly #deliveredUpTo = new Map<string, number>();

	constructor(identity: string) {
		this.#identity = identity;
	}

	/** Everyone's read watermark as this client knows it. */
	get readWatermarks(): ReadonlyMap<string, number> {
		return this.#readUpTo;
	}

	/** Raise watermarks (pushed or from a sync); true when one moved. */
	raise(marks: Iterable<{ identity: string; readUpTo?: number | undefined; deliveredUpTo?: number | undefined }>): boolean {
		let moved = false;
		for (const { identity, readUpTo, deliveredUpTo } of marks) {
			if (readUpTo !== undefined && readUpTo > (this.#readUpTo.get(identity) ?? 0)) {
				this.#readUpTo.set(identity, readUpTo);
				moved = true;
			}
			if (deliveredUpTo !== undefined && deliveredUpTo > (this.#deliveredUpTo.get(identity) ?? 0)) {
				this.#deliveredUpTo.set(identity, deliveredUpTo);
				moved = true;
			}
		}
		return moved;
	}

	/** Merge an explicit receipt into what is known. */
	merge(r: ChatReceipt): void {
		const old = this.#explicit.get(r.seq);
		this.#explicit.set(
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

	/** The receipt of one of this participant's own messages (undefined for others' messages). */
	of(message: ChatMessage | undefined): ChatReceipt | undefined {
		if (!message || message.from !== this.#identity) return undefined;
		const { seq } = message;
		const explicit = this.#explicit.get(seq);
		const readBy = new Set(explicit?.readBy ?? []);
		const counts = (who: string, upTo: number): boolean => upTo >= seq && who !== this.#identity && (message.to === null || message.to === who);
		for (const [who, upTo] of this.#readUpTo) if (counts(who, upTo)) readBy.add(who);
		const deliveredTo = new Set([...(explicit?.deliveredTo ?? []), ...readBy]);
		for (const [who, upTo] of this.#deliveredUpTo) if (counts(who, upTo)) deliveredTo.add(who);
		return { seq, deliveredTo: [...deliveredTo].sort(), readBy: [...readBy].sort() };
	}

	/** The receipts of this participant's messages among these that someone received or read. */
	own(messages: readonly ChatMessage[]): Map<number, ChatReceipt> {
		const out = new Map<number, ChatReceipt>();
		for (const m of messages) {
			const r = this.of(m);
			if (r && (r.deliveredTo.length > 0 || r.readBy.length > 0)) out.set(m.seq, r);
		}
		return out;
	}

	clear(): void {
		this.#explicit.clear();
		this.#readUpTo.clear();
		this.#deliveredUpTo.clear();
	}
}
