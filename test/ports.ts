/**
 * Ports for tests and benchmarks.
 *
 * Media ports are fixed by the caller (the SFU announces them), so they must not come from
 * the kernel's ephemeral range (Linux: 32768-60999): any outgoing connection (Chromium,
 * Redis clients, HTTP) or unconnected UDP socket may hold such a port, and a server told to
 * listen there then fails with EADDRINUSE. That happened in CI (a second server on
 * 42180/tcp). Test media ports therefore come from 20000-31999.
 */
import net from 'node:net';

export const TEST_MEDIA_PORT_MIN = 20_000;
export const TEST_MEDIA_PORT_MAX = 31_999;

/** A random media base port below the ephemeral range, with room for `span` ports after it. */
export function randomMediaPort(span = 10): number {
	return TEST_MEDIA_PORT_MIN + Math.floor(Math.random() * (TEST_MEDIA_PORT_MAX - TEST_MEDIA_PORT_MIN - span));
}

/**
 * An even base for a test's recorder RTP ports (`span` ports from it): 32000-32767, below the
 * ephemeral range and apart from randomMediaPort's, so neither a client's socket nor the
 * test server's own media port can hold one.
 */
export function randomRecorderPortBase(span = 40): number {
	return 32_000 + 2 * Math.floor(Math.random() * ((32_768 - 32_000 - span) / 2));
}

/** A free loopback TCP port chosen by the kernel (it may be taken again before use). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}
