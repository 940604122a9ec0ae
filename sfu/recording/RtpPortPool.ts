/**
 * The loopback ports the recorder processes listen on: one even RTP port and the RTCP
 * port after it (ffmpeg's RTP input takes RTCP on port + 1) per recorded track, taken
 * from a configured range so operators know what is used.
 */
import { LimitError } from '../errors.ts';

export class RtpPortPool {
	readonly #min: number;
	readonly #max: number;
	readonly #used = new Set<number>();
	#next: number;

	constructor(min: number, max: number) {
		if (max - min < 1) throw new RangeError(`recording port range ${min}-${max} holds no RTP/RTCP pair`);
		this.#min = min % 2 === 0 ? min : min + 1;
		this.#max = max;
		this.#next = this.#min;
	}

	/** Pairs that can be in use at once. */
	get capacity(): number {
		return Math.floor((this.#max - this.#min + 1) / 2);
	}

	get inUse(): number {
		return this.#used.size;
	}

	/** An RTP port (even; its RTCP port is the next one). Round-robin, so a port just freed is reused last. */
	take(): number {
		for (let i = 0; i < this.capacity; i++) {
			const port = this.#next;
			this.#next = port + 2 + 1 > this.#max ? this.#min : port + 2;
			if (!this.#used.has(port)) {
				this.#used.add(port);
				return port;
			}
		}
		throw new LimitError(`all ${this.capacity} recording port pairs are in use`);
	}

	release(port: number): void {
		this.#used.delete(port);
	}
}
