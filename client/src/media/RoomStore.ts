/**
 * The React adapter: a snapshot rebuilt on every change and handed to
 * useSyncExternalStore through subscribe()/getSnapshot(), and the passing notice
 * (a non-fatal problem shown for a while).
 */

type Listener = () => void;

const NOTICE_MS = 6000;

export class RoomStore<S> {
	readonly #build: () => S;
	readonly #listeners = new Set<Listener>();
	#snapshot: S;
	#notice: string | null = null;
	#noticeTimer: ReturnType<typeof setTimeout> | null = null;
	#held = 0;
	#dirty = false;

	constructor(build: () => S) {
		this.#build = build;
		this.#snapshot = build();
	}

	readonly subscribe = (listener: Listener): (() => void) => {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	};

	readonly getSnapshot = (): S => this.#snapshot;

	/** Something shown changed: rebuild the snapshot and tell the subscribers. */
	changed(): void {
		if (this.#held) {
			this.#dirty = true;
			return;
		}
		this.#snapshot = this.#build();
		for (const listener of [...this.#listeners]) listener();
	}

	/**
	 * Hold changes back until the returned function is called (then one change if any came):
	 * a burst of work whose first steps must not wait for the page to render.
	 */
	hold(): () => void {
		this.#held++;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			if (--this.#held > 0 || !this.#dirty) return;
			this.#dirty = false;
			this.changed();
		};
	}

	get notice(): string | null {
		return this.#notice;
	}

	showNotice(message: string): void {
		this.#notice = message;
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = setTimeout(() => this.dismissNotice(), NOTICE_MS);
		this.changed();
	}

	dismissNotice(): void {
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = null;
		if (this.#notice === null) return;
		this.#notice = null;
		this.changed();
	}

	/** Stop the notice timer (the session closed). */
	close(): void {
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = null;
	}
}
