/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export class TokenBucket {
	readonly #perSecond: number;
	readonly #burst: number;
	#tokens: number;
	#last = performance.now();

	constructor(perSecond: number, burst: number) {
		this.#perSecond = perSecond;
		this.#burst = burst;
		this.#tokens = burst;
	}

	take(cost = 1): boolean {
		const now = performance.now();
		this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#perSecond);
		this.#last = now;
		if (this.#tokens < cost) return false;
		this.#tokens -= cost;
		return true;
	}
}
