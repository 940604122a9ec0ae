/**
 * Mint a join token for scripts: `npm run token -- --room R --identity I --name N [--ttl S]
 * [--no-publish] [--no-subscribe] [--host] [--skip-waiting-room]`. Uses the same configuration (PARLEY_AUTH_JWT_SECRETS)
 * as the server; prints the token on stdout.
 */
import { parseArgs } from 'node:util';
import { ConfigError, hasGeneratedSecret, loadConfig } from '../../config/index.ts';
import { loadOrCreateDevSecret } from '../auth/devSecret.ts';
import { mintToken } from '../auth/tokens.ts';

const usage = 'usage: npm run token -- --room ROOM --name NAME [--identity ID] [--ttl SECONDS] [--no-publish] [--no-subscribe] [--host] [--skip-waiting-room]';

try {
	const { values } = parseArgs({
		options: {
			room: { type: 'string' },
			name: { type: 'string' },
			identity: { type: 'string' },
			ttl: { type: 'string' },
			'no-publish': { type: 'boolean', default: false },
			'no-subscribe': { type: 'boolean', default: false },
			host: { type: 'boolean', default: false },
			'skip-waiting-room': { type: 'boolean', default: false },
			help: { type: 'boolean', short: 'h', default: false },
		},
		strict: true,
	});
	if (values.help) {
		process.stdout.write(`${usage}\n`);
		process.exit(0);
	}
	if (!values.room || !values.name) throw new Error(usage);
	const config = loadConfig();
	// A dev server keeps its generated secret in the data folder: use the same one.
	if (hasGeneratedSecret(config)) config.auth.jwtSecrets = [loadOrCreateDevSecret(config.data.dir).secret];
	const ttl = values.ttl ? Number(values.ttl) : undefined;
	if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new Error('--ttl must be a positive number of seconds');
	const { token } = mintToken(config.auth, {
		room: values.room,
		name: values.name,
		...(values.identity ? { identity: values.identity } : {}),
		...(ttl ? { ttlSeconds: ttl } : {}),
		grants: { publish: !values['no-publish'], subscribe: !values['no-subscribe'], skipWaitingRoom: values['skip-waiting-room'] },
		...(values.host ? { role: 'host' as const } : {}),
	});
	process.stdout.write(`${token}\n`);
} catch (error) {
	const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
	process.stderr.write(`${message}\n`);
	process.exit(2);
}
