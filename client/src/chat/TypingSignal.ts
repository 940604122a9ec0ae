/**
 * The "is typing" signal one person sends while writing: on at the first key, repeated while
 * typing goes on (receivers drop it after 6 s), off after a few seconds without a key, on
 * send, or when the recipient changes.
 *
 * A refused "on" (the server's typing rate limit, or no connection) is sent again at a key
 * a second later: before, it was not repeated for the whole refresh period, so someone who
 * had just sent a few quick messages could type a whole sentence that nobody saw typed.
 */
export const TYPING_IDLE_MS = 3000;
/** Repeat "typing" this often while it goes on. */
export const TYPING_REFRESH_MS = 4000;
/** A refused "typing" is tried again at a key at least this much later. */
export const TYPING_RETRY_MS = 1000;

/** Sends the signal; resolves false when it was not sent or was refused. */
export type SendTyping = (typing: boolean, to: string | null) => Promise<boolean>;

export class TypingSignal {
	readonly #send: SendTyping;
	#current: { to: string | null; sentAt: number; timer: ReturnType<typeof setTimeout> | null } | null = null;

	constructor(send: SendTyping) {
		this.#send = send;
	}

	/** A key that leaves text in the box, writing to `to` (null: everyone). */
	keystroke(to: string | null): void {
		let current = this.#current;
		if (current && current.to !== to) {
			this.stop();
			current = null;
		}
		const now = Date.now();
		if (!current || now - current.sentAt >= TYPING_REFRESH_MS) {
			const sent = { to, sentAt: now, timer: current?.timer ?? null };
			this.#current = current = sent;
			const refused = (): void => {
				// The next key a second from now tries again.
				if (this.#current === sent) sent.sentAt = Date.now() - TYPING_REFRESH_MS + TYPING_RETRY_MS;
			};
			this.#send(true, to).then((ok) => ok || refused(), refused);
		}
		if (current.timer) clearTimeout(current.timer);
		current.timer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
	}

	/** Typing stopped (sent, emptied, idle, recipient changed, unmounted). Nothing to do when not typing. */
	stop(): void {
		const current = this.#current;
		if (!current) return;
		if (current.timer) clearTimeout(current.timer);
		this.#current = null;
		// Refused or lost: the receivers drop the flag on their own after a few seconds.
		this.#send(false, current.to).catch(() => false);
	}

	/** Who the signal is on for (null: everyone), or undefined when off. */
	get to(): string | null | undefined {
		return this.#current ? this.#current.to : undefined;
	}
}
