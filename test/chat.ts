/** Test helpers for the chat client (not part of the client). */
import type { ChatClient } from '../client/src/chat/ChatClient.ts';

/** Resolves when nothing is waiting to be sent (or only failed messages are). */
export async function drained(client: Pick<ChatClient, 'outbox'>, pollMs = 50): Promise<void> {
	while (client.outbox.some((m) => m.state !== 'failed')) await new Promise((r) => setTimeout(r, pollMs));
}
