import { pino, type Logger } from 'pino';
import type { Config } from '../config/index.ts';

/** The server's root logger: JSON lines on stdout, one child per component/room/peer. */
export function createLogger(config: Pick<Config, 'log'>): Logger {
	return pino({
		level: config.log.level,
		base: { service: 'parley' },
		redact: { paths: ['token', '*.token', 'req.headers.authorization', 'auth.token'], censor: '[redacted]' },
	});
}

/**
 * A URL for the log, with the value of every `token` query parameter redacted. Names are
 * compared decoded (`?%74oken=` is `?token=` to the query parser, so it is redacted too).
 */
export function redactUrl(url: string | undefined): string | undefined {
	if (!url) return url;
	const q = url.indexOf('?');
	if (q < 0) return url;
	const query = url
		.slice(q + 1)
		.split('&')
		.map((pair) => {
			const eq = pair.indexOf('=');
			const rawName = eq < 0 ? pair : pair.slice(0, eq);
			let name = rawName;
			try {
				name = decodeURIComponent(rawName.replace(/\+/g, ' '));
			} catch {
				// undecodable: compared as is
			}
			return name.trim().toLowerCase() === 'token' ? `${rawName}=[redacted]` : pair;
		})
		.join('&');
	return `${url.slice(0, q)}?${query}`;
}
