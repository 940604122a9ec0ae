/**
 * A running total over things that come and go (transports, producers, consumers), each
 * reporting its own cumulative figure: what closed things had counted when last seen is
 * kept, so the total never goes down and suits a Prometheus counter.
 */
export class MonotonicTotal {
	readonly #last = new Map<string, number>();
	#closed = 0;

	/** The figures of every live thing now (id → its cumulative value); returns the total. */
	update(live: ReadonlyMap<string, number>): number {
		for (const [id, value] of this.#last) {
			if (!live.has(id)) {
				this.#closed += value;
				this.#last.delete(id);
			}
		}
		let total = this.#closed;
		for (const [id, value] of live) {
			// A figure never goes back (a stream's counters restart only with a new id).
			const kept = Math.max(value, this.#last.get(id) ?? 0);
			this.#last.set(id, kept);
			total += kept;
		}
		return total;
	}
}
