/**
 * The state of one of this participant's own messages, for its ticks: pending (in the
 * outbox), failed, sent (stored, acknowledged), delivered (every current recipient's
 * client has it) and read (every current recipient has seen it). Recipients are the
 * others in the room now (not left), or the one person a direct message is for.
 */
import type { ChatMessage, ChatReceipt } from '../../../signaling/protocol/index.ts';

export type OwnMessageState = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

export interface ReceiptView {
	state: 'sent' | 'delivered' | 'read';
	delivered: number;
	read: number;
	/** How many recipients the counts are out of. */
	of: number;
	/** "delivered to 2 of 3, read by 1". */
	title: string;
}

/**
 * @param others the identities the message is for now: the recipient of a direct message,
 *   else everyone else currently in the room (not left).
 */
export function receiptView(
	message: Pick<ChatMessage, 'to' | 'from'>,
	receipt: ChatReceipt | undefined,
	others: readonly string[],
): ReceiptView {
	const recipients = new Set(message.to ? [message.to] : others);
	recipients.delete(message.from);
	const readBy = new Set(receipt?.readBy ?? []);
	// Reading implies having received it.
	const deliveredTo = new Set([...(receipt?.deliveredTo ?? []), ...readBy]);
	let delivered = 0;
	let read = 0;
	for (const r of recipients) {
		if (deliveredTo.has(r)) delivered++;
		if (readBy.has(r)) read++;
	}
	const of = recipients.size;
	const state: ReceiptView['state'] = of === 0 ? 'sent' : read === of ? 'read' : delivered === of ? 'delivered' : 'sent';
	const title = of === 0 ? 'sent (nobody else is here)' : `delivered to ${delivered} of ${of}${read > 0 ? `, read by ${read}` : ''}`;
	return { state, delivered, read, of, title };
}
