/**
 * Entry point: `node signaling/main.ts`. Loads the configuration, starts the mediasoup
 * workers and the HTTP/Socket.IO server, and drains, then exits, on SIGTERM/SIGINT (a
 * second SIGINT exits at once).
 */
import { ConfigError, hasGeneratedSecret, loadConfig } from '../config/index.ts';
import { loadOrCreateDevSecret } from './auth/devSecret.ts';
import { Sfu } from '../sfu/index.ts';
import { createLogger } from './logger.ts';
import { createParleyServer } from './server.ts';
import { createMessageStore } from './chat/index.ts';
import { FileStore } from './files/index.ts';
import { InviteStore } from './auth/InviteStore.ts';
import { guardProcess } from './ops/processGuard.ts';

async function main(): Promise<void> {
	let config;
	try {
		config = loadConfig();
	} catch (error) {
		if (error instanceof ConfigError) {
			process.stderr.write(`${error.message}\n`);
			process.exit(78); // EX_CONFIG
		}
		throw error;
	}
	const logger = createLogger(config);
	// From here on, a stray rejection is logged (and, once the server is up, counted), not fatal.
	let countRejection: (() => void) | undefined;
	guardProcess(logger, () => countRejection?.());
	if (hasGeneratedSecret(config)) {
		// Kept in the data folder, so that a restart does not invalidate everyone's token.
		const dev = loadOrCreateDevSecret(config.data.dir);
		config.auth.jwtSecrets = [dev.secret];
		logger.info({ file: dev.file, created: dev.created }, 'dev mode: JWT secret from the data folder');
	}
	logger.info({ dev: config.dev, workers: config.media.workers, node: process.version }, 'starting Parley');
	const sfu = await Sfu.create(config, logger);
	const messages = createMessageStore({
		dataDir: config.data.dir,
		redisUrl: config.redis.url,
		logger,
		durability: config.chat.durability,
	});
	const files = new FileStore({ dataDir: config.data.dir, logger });
	const invites = new InviteStore({ dataDir: config.data.dir, logger: logger.child({ component: 'invites' }) });
	const server = createParleyServer({ config, logger, sfu, messages, files, invites });
	countRejection = () => server.ops.metrics.unhandledRejection();
	const address = await server.listen();
	logger.info(
		{ url: config.http.publicUrl, listen: `${address.address}:${address.port}`, mediaPorts: sfu.pool.ports },
		`Parley is running: open ${config.http.publicUrl}`,
	);
	if (config.dev) logger.warn('dev mode: anyone who can reach this server can mint join tokens at /api/dev/token');
	// A plain line for the person who started it (the log lines above are for machines).
	process.stdout.write(`\nParley is running${config.dev ? ' (dev mode)' : ''}: open ${config.http.publicUrl}\n\n`);

	// SIGTERM or SIGINT: drain (not ready, no new rooms, meetings go on for
	// ops.drainGraceMs), then exit. A second SIGINT (Ctrl-C twice) exits at once.
	let exiting = false;
	const exit = (code: number): void => {
		if (exiting) return;
		exiting = true;
		const force = setTimeout(() => process.exit(code), 5000);
		force.unref();
		server
			.close()
			.catch((err: unknown) => logger.error({ err }, 'error while closing the server'))
			.finally(() => {
				sfu.close();
				void messages.close();
				logger.flush();
				process.exit(code);
			});
	};
	server.ops.drainer.on('drained', () => {
		if (signalled) {
			logger.info('drained: exiting');
			exit(0);
		}
	});
	let signalled = false;
	const onSignal = (signal: NodeJS.Signals): void => {
		if (signalled) {
			if (signal === 'SIGINT') {
				logger.warn({ signal }, 'second interrupt: exiting now');
				logger.flush();
				process.exit(130);
			}
			logger.info({ signal, drain: server.ops.drainer.state }, 'already draining (Ctrl-C again to exit now)');
			return;
		}
		signalled = true;
		const state = server.ops.drainer.start();
		if (state.done) exit(0);
		else {
			logger.info(
				{ signal, peers: state.peers, deadline: state.deadline && new Date(state.deadline).toISOString() },
				'draining before exit: meetings continue until they end or the grace period is over (Ctrl-C again to exit now)',
			);
		}
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
}

main().catch((error: unknown) => {
	process.stderr.write(`Parley failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
