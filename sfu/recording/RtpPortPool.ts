/**
 * The loopback ports the recorder processes listen on: one even RTP port and the RTCP
 * port after it (ffmpeg's RTP input takes RTCP on port + 1) per recorded track, taken
 * from a configured range so operators know what is used. A pair that another process
 * holds on any address is skipped: ffmpeg (which binds the wildcard address) could not
 * listen there, and its restarts would fail on the same port.
 */
import { createSocket } from 'node:dgram';
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

	/**
	 * An RTP port (even; its RTCP port is the next one) whose pair nothing on this machine
	 * holds. Round-robin, so a port just freed is reused last.
	 */
	async take(): Promise<number> {
		for (let i = 0; i < this.capacity; i++) {
			const port = this.#next;
			this.#next = port + 2 + 1 > this.#max ? this.#min : port + 2;
			if (this.#used.has(port)) continue;
			// Reserved before the probe: a concurrent take() must not pick it meanwhile.
			this.#used.add(port);
			if ((await udpFree(port)) && (await udpFree(port + 1))) return port;
			this.#used.delete(port);
		}
		throw new LimitError(`no free recording port pair in ${this.#min}-${this.#max} (${this.#used.size} in use here, the others held by other processes)`);
	}

	release(port: number): void {
		this.#used.delete(port);
	}
}

/** Whether a UDP socket can be bound on port `port` of every address now (closed again at once), as ffmpeg does. */
function udpFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createSocket('udp4');
		socket.once('error', () => {
			try {
				socket.close();
			} catch {
				// Never bound: nothing to close.
			}
			resolve(false);
		});
		socket.bind(port, () => socket.close(() => resolve(true)));
	});
}
