/** Who is typing (identity → name); a flag expires on its own if the "stopped" event never comes. */
const TYPING_EXPIRES_MS = 6000;

export class Typing {
	readonly #entries = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();
	readonly #changed: () => void;

	constructor(changed: () => void) {
		this.#changed = changed;
	}

	set(identity: string, name: string, typing: boolean): void {
		const current = this.#entries.get(identity);
		if (current) clearTimeout(current.timer);
		if (typing) {
			const timer = setTimeout(() => this.set(identity, name, false), TYPING_EXPIRES_MS);
			this.#entries.set(identity, { name, timer });
		} else this.#entries.delete(identity);
		this.#changed();
	}

	/** identity → name. */
	names(): Map<string, string> {
		return new Map([...this.#entries].map(([k, v]) => [k, v.name]));
	}

	clear(): void {
		for (const t of this.#entries.values()) clearTimeout(t.timer);
		this.#entries.clear();
	}
}
