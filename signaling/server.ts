/**
 * Express + Socket.IO bootstrap: HTTP routes, the authenticated socket handshake, one
 * Session per connection with each feature's handlers registered on it, and graceful
 * close.
 */
import express from 'express';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { Config } from '../config/index.ts';
import type { Sfu } from '../sfu/index.ts';
import { AuthError, verifyToken } from './auth/tokens.ts';
import type { HandlerContext } from './handlers/context.ts';
import { registerMediaHandlers } from './handlers/media.ts';
import { registerRoomHandlers } from './handlers/room.ts';
import { apiRouter, errorHandler } from './http/routes.ts';
import { clientRouter } from './http/static.ts';
import { ErrorCode, requestSchemas } from './protocol/index.ts';
import { TokenBucket } from './rateLimit.ts';
import { bindRoomEvents } from './roomEvents.ts';
import { rejectUnknownEvents } from './rpc.ts';
import { SessionRegistry, type ParleyServer, type Session } from './session.ts';

const DEFAULT_CLIENT_DIST = fileURLToPath(new URL('../client/dist', import.meta.url));

export interface ParleyServerOptions {
	config: Config;
	logger: Logger;
	sfu: Sfu;
	clientDist?: string;
}

export interface ParleyHttpServer {
	readonly http: HttpServer;
	readonly io: ParleyServer;
	readonly sessions: SessionRegistry;
	listen(): Promise<AddressInfo>;
	close(): Promise<void>;
}

/** Feature handlers, one small module each; every connection gets all of them. */
const features: ((ctx: HandlerContext) => void)[] = [registerRoomHandlers, registerMediaHandlers];
const knownEvents: ReadonlySet<string> = new Set(Object.keys(requestSchemas));

export function createParleyServer({ config, logger, sfu, clientDist }: ParleyServerOptions): ParleyHttpServer {
	const app = express();
	app.disable('x-powered-by');
	app.set('trust proxy', 'loopback');
	app.use(
		pinoHttp({
			logger: logger.child({ component: 'http' }),
			autoLogging: { ignore: (req) => req.url === '/healthz' || !req.url?.startsWith('/api') },
			serializers: {
				req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
				res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
			},
		}),
	);
	app.use(apiRouter(config, sfu));
	app.use(clientRouter(path.resolve(clientDist ?? DEFAULT_CLIENT_DIST)));
	app.use(errorHandler);

	const http = createServer(app);
	const io: ParleyServer = new Server(http, {
		serveClient: false,
		maxHttpBufferSize: 256 * 1024,
		pingInterval: 10_000,
		pingTimeout: 10_000,
	});
	const sessions = new SessionRegistry();
	const log = logger.child({ component: 'signaling' });

	io.use((socket, next) => {
		try {
			const auth = socket.handshake.auth as Record<string, unknown> | undefined;
			socket.data.claims = verifyToken(config.auth, auth?.token);
			next();
		} catch (error) {
			const reason = error instanceof AuthError ? error.message : 'invalid token';
			log.info({ reason, address: socket.handshake.address }, 'handshake refused');
			const err = new Error(`unauthorized: ${reason}`) as Error & { data?: unknown };
			err.data = { code: ErrorCode.Unauthorized, message: reason };
			next(err);
		}
	});

	sfu.on('roomcreated', (room) => bindRoomEvents(io, room));

	io.on('connection', (socket) => {
		const claims = socket.data.claims;
		const sessionLog = logger.child({ roomId: claims.room, peerId: claims.sub, socketId: socket.id });
		const session: Session = { socket, claims, log: sessionLog, room: undefined, peer: undefined };
		const ctx: HandlerContext = {
			socket,
			log: sessionLog,
			limiter: new TokenBucket(50, 200),
			config,
			io,
			sfu,
			session,
			sessions,
		};
		for (const register of features) register(ctx);
		rejectUnknownEvents(ctx, knownEvents);
		sessionLog.info({ name: claims.name }, 'connected');
	});

	return {
		http,
		io,
		sessions,
		listen: () =>
			new Promise<AddressInfo>((resolve, reject) => {
				http.once('error', reject);
				http.listen(config.http.port, config.http.host, () => {
					http.off('error', reject);
					resolve(http.address() as AddressInfo);
				});
			}),
		close: async () => {
			io.emit('session:ended', { reason: 'server-shutdown' });
			await io.close();
			http.closeAllConnections();
		},
	};
}
