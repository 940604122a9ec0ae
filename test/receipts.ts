/**
 * Test helper: wait until each sender's client shows, for every one of its messages, the
 * receipts the store holds, and that those say "delivered to everyone else" (and, with
 * expect 'read', "read by everyone else"). Returns the counts for the report.
 */
import assert from 'node:assert/strict';
import type { ChatClient } from '../client/src/chat/ChatClient.ts';
import type { MessageStore } from '../signaling/chat/index.ts';

export interface ReceiptCounts {
	/** Messages whose receipts were compared (each sender's own). */
	messages: number;
	/** Of those, shown on the sender's client as read by everyone else. */
	shownComplete: number;
	/** Of those, complete according to the store. */
	storedComplete: number;
}

export async function assertReceiptsMatchStore(
	clients: readonly ChatClient[],
	store: MessageStore,
	room: string,
	expect: 'delivered' | 'read',
	timeoutMs = 15_000,
): Promise<ReceiptCounts> {
	const complete = (r: { deliveredTo: string[]; readBy: string[] } | undefined, others: string[]): boolean =>
		r !== undefined && r.deliveredTo.join() === others.join() && (expect === 'delivered' || r.readBy.join() === others.join());
	const everyone = clients.map((c) => c.identity);
	const deadline = Date.now() + timeoutMs;
	const readByAllShown = (c: ChatClient): number =>
		c.messages.filter((m) => {
			if (m.from !== c.identity) return false;
			const r = c.receipt(m.seq);
			const others = everyone.filter((who) => who !== c.identity && (m.to === null || m.to === who)).sort();
			return complete(r, others);
		}).length;
	const own = (c: ChatClient) => c.messages.filter((m) => m.from === c.identity);
	while (!clients.every((c) => readByAllShown(c) === own(c).length) && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 50));
	}
	const counts: ReceiptCounts = { messages: 0, shownComplete: 0, storedComplete: 0 };
	for (const c of clients) {
		const seqs = own(c).map((m) => m.seq);
		for (let i = 0; i < seqs.length; i += 200) {
			const stored = await store.receipts(room, seqs.slice(i, i + 200));
			for (const r of stored) {
				const message = c.messages.find((m) => m.seq === r.seq)!;
				const others = everyone.filter((who) => who !== c.identity && (message.to === null || message.to === who)).sort();
				counts.messages++;
				if (complete(r, others)) counts.storedComplete++;
				assert.deepEqual(c.receipt(r.seq), r, `${c.identity}: seq ${r.seq} shown as the store has it`);
			}
		}
		counts.shownComplete += readByAllShown(c);
	}
	assert.equal(counts.storedComplete, counts.messages, `the store: every message ${expect} by everyone else`);
	assert.equal(counts.shownComplete, counts.messages, "every sender's client shows it");
	return counts;
}
