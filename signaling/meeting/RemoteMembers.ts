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
	readonly #nodes = new Map<string, { members: Map<string, string>; waiting: WaitingPerson[] }>();

	get size(): number {
		return this.#nodes.size;
	}

	/** `node`'s report: its people in the meeting and its waiting room (both empty: it has none left). */
	set(node: string, members: RemoteMember[], waiting: WaitingPerson[]): void {
		if (members.length === 0 && waiting.length === 0) this.#nodes.delete(node);
		else this.#nodes.set(node, { members: new Map(members.map((m) => [m.identity, m.name])), waiting });
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
