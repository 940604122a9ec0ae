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
