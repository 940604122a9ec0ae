/** Milestones as User Timing marks and measures (`parley:*`), visible in the browser's performance tools. */

export function mark(name: string): void {
	try {
		performance.mark(`parley:${name}`);
	} catch {
		// User Timing is optional.
	}
}

/** A duration as a User Timing measure, from `start` (performance.now()) to now. */
export function measure(name: string, start: number): void {
	try {
		performance.measure(`parley:${name}`, { start, end: performance.now() });
	} catch {
		// User Timing is optional.
	}
}

export interface Deferred<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
	let resolve!: (value: T) => void;
	let reject!: (reason: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	promise.catch(() => {}); // a session torn down before anyone waited is not an error
	return { promise, resolve, reject };
}

/**
 * The session generation: bumped on every (re)start and on close, so async work started
 * for an older session drops its results instead of touching the new one.
 */
export class Epoch {
	#value = 0;

	get value(): number {
		return this.#value;
	}

	bump(): number {
		return ++this.#value;
	}

	isCurrent(generation: number): boolean {
		return generation === this.#value;
	}
}
