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
	/** The page has shown the current notice (its time runs). */
	#noticeSeen = false;
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

	/**
	 * A passing notice. It stays for NOTICE_MS from when the page first shows it (noticeShown):
	 * one raised while the lobby still says "Joining…" is not gone before the call page is up.
	 */
	showNotice(message: string): void {
		this.#notice = message;
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = null;
		if (this.#noticeSeen) this.#armNotice();
		this.changed();
	}

	/** The page shows the notice now: its time starts (once). */
	noticeShown(): void {
		if (this.#notice === null || this.#noticeSeen) return;
		this.#noticeSeen = true;
		this.#armNotice();
	}

	dismissNotice(): void {
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = null;
		this.#noticeSeen = false;
		if (this.#notice === null) return;
		this.#notice = null;
		this.changed();
	}

	#armNotice(): void {
		this.#noticeTimer = setTimeout(() => this.dismissNotice(), NOTICE_MS);
	}

	/** Stop the notice timer (the session closed). */
	close(): void {
		if (this.#noticeTimer) clearTimeout(this.#noticeTimer);
		this.#noticeTimer = null;
	}
}
