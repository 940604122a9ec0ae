/**
 * The chat's requests to the message store and what their answers say about it: each
 * request is answered or times out (the protocol's one request helper); some errors are
 * final (a retry cannot succeed); while the store is unavailable, retries back off
 * exponentially (with jitter) and the chat's status says so until a request is answered.
 */
import type { RequestName, RequestPayload, ResponseData, Result } from '../../../signaling/protocol/index.ts';
import { emitWithAck, type AckSocket } from '../../../signaling/protocol/request.ts';

/** Errors after which a retry cannot succeed: the message is marked failed. */
const FINAL_ERRORS: ReadonlySet<string> = new Set(['bad_request', 'forbidden', 'not_found', 'unknown_event', 'unauthorized']);

export interface StoreLinkOptions {
	/** How long to wait for an ack before treating the request as lost (ms). */
	ackTimeoutMs: number;
	/** Delay before retrying after a rate-limit answer, and the first backoff step when the store is unavailable (ms). */
	retryDelayMs: number;
	/** Longest backoff between retries while the message store is unavailable (ms). */
	maxRetryDelayMs: number;
}

export class StoreLink {
	readonly #socket: AckSocket;
	readonly #options: StoreLinkOptions;
	/** The store's availability changed (the chat's status follows it). */
	readonly #changed: () => void;
	#unavailable = false;
	/** Consecutive `unavailable` answers (backoff exponent). */
	#failures = 0;

	constructor(socket: AckSocket, options: StoreLinkOptions, changed: () => void) {
		this.#socket = socket;
		this.#options = options;
		this.#changed = changed;
	}

	/** The last answer said the message store is unavailable (connected, but it does not answer). */
	get unavailable(): boolean {
		return this.#unavailable;
	}

	/** Whether a retry after this error code cannot succeed. */
	static isFinal(code: string): boolean {
		return FINAL_ERRORS.has(code);
	}

	request<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<Result<ResponseData<K>>> {
		return emitWithAck(this.#socket, name, payload, this.#options.ackTimeoutMs);
	}

	/**
	 * Wait before a retry: the store unavailable backs off exponentially (with jitter) up to
	 * maxRetryDelayMs; anything else (rate limit, timeout) waits retryDelayMs.
	 */
	async backoff(code: string): Promise<void> {
		let delay = this.#options.retryDelayMs;
		if (code === 'unavailable') {
			this.#failures++;
			if (!this.#unavailable) {
				this.#unavailable = true;
				this.#changed();
			}
			delay = Math.min(this.#options.maxRetryDelayMs, this.#options.retryDelayMs * 2 ** Math.min(this.#failures - 1, 10));
			delay = delay / 2 + Math.random() * (delay / 2);
		}
		await new Promise((r) => setTimeout(r, delay));
	}

	/** A request was answered: the store is back. */
	answered(): void {
		this.#failures = 0;
		if (this.#unavailable) {
			this.#unavailable = false;
			this.#changed();
		}
	}
}
