/**
 * The host node's view of a spanning room's other nodes (cluster/SpanMeetings): who is in the
 * meeting and who waits on each, as each node last reported it (its whole list).
 */
import type { WaitingPerson } from '../protocol/index.ts';

export interface RemoteMember {
	identity: string;
	name: string;
	/** Came with a host token on that node. */
	host: boolean;
}

export class RemoteMembers {
	readonly #nodes = new Map<string, { members: Map<string, string>; waiting: WaitingPerson[]; known: Set<string> }>();

	get size(): number {
		return this.#nodes.size;
	}

	/**
	 * `node`'s report: its people in the meeting, its waiting room (both empty: it has none left)
	 * and who its meeting let in (admitted there or in: they skip the waiting room and the lock).
	 * Returns whether the identities let in on the other nodes changed.
	 */
	set(node: string, members: RemoteMember[], waiting: WaitingPerson[], known: readonly string[] = []): boolean {
		const before = [...this.known()].sort().join('\u0000');
		if (members.length === 0 && waiting.length === 0) this.#nodes.delete(node);
		else this.#nodes.set(node, { members: new Map(members.map((m) => [m.identity, m.name])), waiting, known: new Set([...known, ...members.map((m) => m.identity)]) });
		return [...this.known()].sort().join('\u0000') !== before;
	}

	/** Who the other nodes' meetings let in. */
	known(): Set<string> {
		const all = new Set<string>();
		for (const n of this.#nodes.values()) for (const identity of n.known) all.add(identity);
		return all;
	}

	isKnown(identity: string): boolean {
		for (const n of this.#nodes.values()) if (n.known.has(identity)) return true;
		return false;
	}

	/** Forget a node (gone); whether it had anyone. */
	drop(node: string): boolean {
		return this.#nodes.delete(node);
	}

	/** The name of someone in the meeting on another node (undefined: nobody there has that identity). */
	name(identity: string): string | undefined {
		for (const { members } of this.#nodes.values()) {
			const name = members.get(identity);
			if (name !== undefined) return name;
		}
		return undefined;
	}

	*members(): Generator<[identity: string, name: string]> {
		for (const { members } of this.#nodes.values()) yield* members;
	}

	waiting(): WaitingPerson[] {
		return [...this.#nodes.values()].flatMap((n) => n.waiting);
	}
}
