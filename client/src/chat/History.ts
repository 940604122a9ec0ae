/**
 * The messages a chat client holds: by seq without duplicates, kept in seq order, and the
 * resync point (every visible message up to `watermark` is held).
 */
import type { ChatMessage } from '../../../signaling/protocol/index.ts';

export class History {
	readonly #bySeq = new Map<number, ChatMessage>();
	/** Ascending by seq; mutated in place (snapshots copy it). */
	#sorted: ChatMessage[] = [];
	#watermark = 0;

	get sorted(): readonly ChatMessage[] {
		return this.#sorted;
	}

	get watermark(): number {
		return this.#watermark;
	}

	/** Everything visible up to `seq` is held (a complete sync page says so). */
	raiseWatermark(seq: number): void {
		this.#watermark = Math.max(this.#watermark, seq);
	}

	get(seq: number): ChatMessage | undefined {
		return this.#bySeq.get(seq);
	}

	/** Add messages; returns those not held before. */
	add(messages: readonly ChatMessage[]): ChatMessage[] {
		const fresh: ChatMessage[] = [];
		for (const m of messages) {
			if (this.#bySeq.has(m.seq)) continue;
			this.#bySeq.set(m.seq, m);
			fresh.push(m);
		}
		if (fresh.length === 0) return fresh;
		// Usually newer than everything held: append (no re-sort of the whole history per message).
		fresh.sort((a, b) => a.seq - b.seq);
		if (fresh[0]!.seq > (this.#sorted.at(-1)?.seq ?? 0)) this.#sorted.push(...fresh);
		else this.#sorted = [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
		// Advance the watermark over contiguous seqs.
		while (this.#bySeq.has(this.#watermark + 1)) this.#watermark++;
		return fresh;
	}

	clear(): void {
		this.#bySeq.clear();
		this.#sorted = [];
		this.#watermark = 0;
	}
}
