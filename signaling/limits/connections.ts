/**
 * Caps on connections: open TCP connections per remote address (HTTP and WebSocket alike,
 * counted on the HTTP server), and Socket.IO sessions per identity in a room.
 */
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';

/** Refuse (close at once) a TCP connection from an address that already has `max` open. */
export function capConnectionsPerIp(http: HttpServer, max: number, log: Logger): { open(address: string): number } {
	const open = new Map<string, number>();
	http.on('connection', (socket) => {
		const address = socket.remoteAddress ?? 'unknown';
		const count = open.get(address) ?? 0;
		if (count >= max) {
			log.info({ address, max }, 'connection refused: too many from this address');
			socket.destroy();
			return;
		}
		open.set(address, count + 1);
		socket.once('close', () => {
			const left = (open.get(address) ?? 1) - 1;
			if (left > 0) open.set(address, left);
			else open.delete(address);
		});
	});
	return { open: (address) => open.get(address) ?? 0 };
}

/** Counts live sessions per key (room + identity); `acquire` fails past `max`. */
export class SessionCounter {
	readonly #max: number;
	readonly #counts = new Map<string, number>();

	constructor(max: number) {
		this.#max = max;
	}

	acquire(key: string): boolean {
		const count = this.#counts.get(key) ?? 0;
		if (count >= this.#max) return false;
		this.#counts.set(key, count + 1);
		return true;
	}

	release(key: string): void {
		const left = (this.#counts.get(key) ?? 1) - 1;
		if (left > 0) this.#counts.set(key, left);
		else this.#counts.delete(key);
	}
}
