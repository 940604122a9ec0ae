/**
 * A transport whose DTLS handshake is stuck. Over a very lossy link (30% loss both ways,
 * measured with `npm run bench:latency` joining over an emulated lossy network) ICE can
 * connect while the browser's DTLS handshake keeps losing flights: its retransmission timer
 * doubles each time, so after a few losses the next try is seconds away, and in about one
 * join in four the camera's transport was still "connecting" after 15 s (nobody saw the
 * person, nothing said so). A healthy handshake there took 0.5-1 s. A fresh handshake
 * starts with short timers again, so a transport whose ICE is up but whose DTLS has not
 * finished STUCK_MS after it started connecting is reported, and the owner replaces it (a
 * fresh receive transport; for sending, the media session starts over). Reports back off (STUCK_MS, then twice as long each time, up to MAX_BACKOFF_MS)
 * until a transport connects.
 */

/** How long a transport may stay "connecting" with ICE up before its handshake counts as stuck. */
export const STUCK_MS = 5000;
const MAX_BACKOFF_MS = 40_000;

export interface WatchedTransport {
	readonly id: string;
	readonly closed: boolean;
	readonly connectionState: string;
	getStats(): Promise<RTCStatsReport>;
}

export interface DtlsWatchdogOptions {
	/** A transport's handshake is stuck (ICE up, DTLS not done); the owner ignores transports it no longer uses. */
	onStuck: (transport: WatchedTransport) => void;
}

export class DtlsWatchdog {
	readonly #options: DtlsWatchdogOptions;
	readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
	/** Reports since a transport last connected (the back-off). */
	#reports = 0;

	constructor(options: DtlsWatchdogOptions) {
		this.#options = options;
	}

	/** Call on every connection state change of a watched transport. */
	stateChanged(transport: WatchedTransport, state: string): void {
		if (state === 'connected') this.#reports = 0;
		if (state !== 'connecting') {
			this.#clear(transport.id);
			return;
		}
		if (this.#timers.has(transport.id)) return;
		const delay = Math.min(MAX_BACKOFF_MS, STUCK_MS * 2 ** this.#reports);
		this.#timers.set(
			transport.id,
			setTimeout(() => {
				this.#timers.delete(transport.id);
				void this.#check(transport);
			}, delay),
		);
	}

	/** Stop watching everything (the session is torn down). */
	reset(): void {
		for (const timer of this.#timers.values()) clearTimeout(timer);
		this.#timers.clear();
	}

	async #check(transport: WatchedTransport): Promise<void> {
		if (transport.closed || transport.connectionState !== 'connecting') return;
		let iceUp = false;
		let dtlsPending = false;
		try {
			(await transport.getStats()).forEach((entry: Record<string, unknown>) => {
				if (entry.type !== 'transport') return;
				if (entry.iceState === 'connected' || entry.iceState === 'completed') iceUp = true;
				if (entry.dtlsState === 'new' || entry.dtlsState === 'connecting') dtlsPending = true;
			});
		} catch {
			return; // closed meanwhile
		}
		if (transport.closed || transport.connectionState !== 'connecting') return;
		if (!iceUp || !dtlsPending) return; // ICE still checking: ICE's own failure and restart handle that
		this.#reports++;
		this.#options.onStuck(transport);
	}

	#clear(id: string): void {
		const timer = this.#timers.get(id);
		if (timer) clearTimeout(timer);
		this.#timers.delete(id);
	}
}
