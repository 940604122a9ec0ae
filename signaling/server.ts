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
import { CLOCK_TOLERANCE_SECONDS } from './auth/tokens.ts';
import { createRevocationList, type RevocationList } from './auth/Revocations.ts';
import { installSessionGuard } from './auth/sessionGuard.ts';
import type { HandlerContext } from './handlers/context.ts';
import type { FileStore } from './files/index.ts';
import { filesRouter } from './http/files.ts';
import { invitesRouter } from './http/invites.ts';
import { InviteStore } from './auth/InviteStore.ts';
import { registerChatHandlers } from './handlers/chat.ts';
import { registerPresenceHandlers } from './handlers/presence.ts';
import type { MessageStore } from './chat/index.ts';
import { PresenceTracker } from './presence/PresenceTracker.ts';
import { registerMediaHandlers } from './handlers/media.ts';
import { bindClusterIdentity, registerRoomHandlers } from './handlers/room.ts';
import { registerModerationHandlers } from './handlers/moderation.ts';
import { registerHandHandlers } from './handlers/hands.ts';
import { registerWaitingRoom } from './handlers/waitingRoom.ts';
import { registerRecordingHandlers } from './handlers/recording.ts';
import { RecordingService } from './recording/RecordingService.ts';
import { recordingAdminRoutes, recordingsRouter } from './http/recordings.ts';
import { prepareRouter } from './http/prepare.ts';
import { PreparedReceives } from './prepare/PreparedReceives.ts';
import { MeetingRegistry } from './meeting/MeetingRegistry.ts';
import { MeetingControl } from './meeting/MeetingControl.ts';
import { bindMeetingEvents } from './meetingEvents.ts';
import { mountServerApi } from './api/router.ts';
import { bindRecordingWebhooks, bindWebhookEvents, createWebhooks, type WebhookDispatcher } from './webhooks/index.ts';
import { apiRouter, errorHandler } from './http/routes.ts';
import { clientRouter } from './http/static.ts';
import { ErrorCode, requestSchemas } from './protocol/index.ts';
import { RateLimits, ratesOf } from './limits/RateLimits.ts';
import { capConnectionsPerIp } from './limits/connections.ts';
import { HttpTimeouts, requestTimeouts } from './http/timeouts.ts';
import { securityHeaders } from './http/security.ts';
import { admitConnections } from './admission.ts';
import { redactUrl } from './logger.ts';
import { bindRoomEvents, type RoomSpan } from './roomEvents.ts';
import { createOps, messageStoreCheck, type Ops } from './ops/index.ts';
import { rejectUnknownEvents } from './rpc.ts';
import { createCluster, placeConnection, type Cluster } from './cluster/index.ts';
import { SpanMeetings } from './cluster/SpanMeetings.ts';
import { followCluster, meetingOnArrival, type FollowOptions } from './cluster/follow.ts';
import { requireOperator } from './ops/access.ts';
import { SessionRegistry, channels, roomChannels, type ParleyServer, type Session } from './session.ts';

const DEFAULT_CLIENT_DIST = fileURLToPath(new URL('../client/dist', import.meta.url));

export interface ParleyServerOptions {
	config: Config;
	logger: Logger;
	sfu: Sfu;
	messages: MessageStore;
	files: FileStore;
	/** Invitations made by hosts; default: kept in memory only. */
	invites?: InviteStore;
	clientDist?: string;
	/** The revocation list (default: from the config, in the data folder or Redis; closed with the server). */
	revocations?: RevocationList;
	/** Override the HTTP/connect timeouts (tests). */
	timeouts?: Partial<HttpTimeouts>;
	/** Receive transports prepared in the lobby: how long one waits for its join, how many at once, consumers on each (tests shorten them). */
	prepare?: { ttlMs?: number; max?: number; consumers?: number };
}

export interface ParleyHttpServer {
	readonly http: HttpServer;
	readonly io: ParleyServer;
	readonly sessions: SessionRegistry;
	readonly presence: PresenceTracker;
	/** Revoke an identity in a room: its live sessions end and its older tokens are refused. */
	readonly revocations: RevocationList;
	/** Metrics, readiness and draining. */
	readonly ops: Ops;
	readonly meetings: MeetingRegistry;
	readonly control: MeetingControl;
	readonly recordings: RecordingService;
	/** Webhook deliveries (null: no webhook URLs configured). */
	readonly webhooks: WebhookDispatcher | null;
	/** Several nodes on one Redis (null: no redis.url, one process). */
	readonly cluster: Cluster | null;
	listen(): Promise<AddressInfo>;
	close(): Promise<void>;
}

/** Feature handlers, one small module each; every connection gets all of them. */
const features: ((ctx: HandlerContext) => void)[] = [
	registerPresenceHandlers,
	registerRoomHandlers,
	registerMediaHandlers,
	registerChatHandlers,
	registerModerationHandlers,
	registerHandHandlers,
	registerRecordingHandlers,
];
const knownEvents: ReadonlySet<string> = new Set(Object.keys(requestSchemas));

export function createParleyServer(options: ParleyServerOptions): ParleyHttpServer {
	const { config, logger, sfu, messages, files, clientDist } = options;
	const log = logger.child({ component: 'signaling' });
	const revocations =
		options.revocations ??
		createRevocationList({
			dataDir: config.data.dir,
			redisUrl: config.redis.url,
			retainMs: (config.auth.maxTokenLifetimeSeconds + CLOCK_TOLERANCE_SECONDS) * 1000,
			logger: log,
		});
	const timeouts: HttpTimeouts = { ...HttpTimeouts, ...options.timeouts };
	const rateLimits = new RateLimits(ratesOf(config), { redisUrl: config.redis.url, logger: log });
	const invites = options.invites ?? new InviteStore({ dataDir: null });
	const app = express();
	app.disable('x-powered-by');
	app.set('trust proxy', 'loopback');
	app.use(requestTimeouts(timeouts));
	app.use(securityHeaders());
	app.use(
		pinoHttp({
			logger: logger.child({ component: 'http' }),
			autoLogging: { ignore: (req) => !req.url?.startsWith('/api') && !req.url?.startsWith('/admin') },
			serializers: {
				// Download links carry the join token in the query: never log it.
				req: (req: { method?: string; url?: string }) => ({
					method: req.method,
					url: redactUrl(req.url),
				}),
				res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
			},
		}),
	);
	const opsRoutes = express.Router();
	app.use(opsRoutes);
	app.use(filesRouter({ config, store: files, logger: logger.child({ component: 'files' }), revocations }));
	const serverApi = express.Router(); // the integrator API, filled once the meeting services exist
	app.use('/api/server', serverApi);
	const recordingRoutes = express.Router(); // hosts' recordings and the lobby's indicator, filled below
	app.use(recordingRoutes);
	const prepared = new PreparedReceives({
		ttlMs: options.prepare?.ttlMs ?? PREPARED_TTL_MS,
		max: options.prepare?.max ?? PREPARED_MAX,
		perAddress: config.limits.preparedPerAddress,
		log: log.child({ component: 'prepare' }),
	});
	app.use(
		prepareRouter({
			config,
			sfu,
			prepared,
			revocations,
			enabled: !config.redis.url,
			...(options.prepare?.consumers !== undefined ? { maxConsumers: options.prepare.consumers } : {}),
			// People are in (or nothing is prepared): their meeting exists and has the say.
			admitsDirectly: (claims) => meetings.get(claims.room)?.admitsDirectly(claims.sub, claims.role, claims.grants.skipWaitingRoom) ?? false,
			limit: async (who, address) => (await rateLimits.take('requests', who)) && (await rateLimits.take('ipRequests', address)),
			address: (req) => req.ip ?? req.socket.remoteAddress ?? '',
			logger: log.child({ component: 'prepare' }),
		}),
	);
	app.use(
		invitesRouter({
			config,
			store: invites,
			logger: logger.child({ component: 'invites' }),
			revocations,
			// The lobby redeems again as the name typed changes; a client hammering it is refused like any requests.
			limit: (address) => rateLimits.take('ipRequests', address),
		}),
	);
	app.use(apiRouter(config, sfu));
	app.use(clientRouter(path.resolve(clientDist ?? DEFAULT_CLIENT_DIST), { sourceMaps: config.dev }));
	app.use(errorHandler);

	// Bodies are timed per route (requestTimeouts: uploads by progress), headers here.
	const http = createServer(
		{
			requestTimeout: 0,
			headersTimeout: timeouts.headersMs,
			keepAliveTimeout: timeouts.keepAliveMs,
			connectionsCheckingInterval: 1000,
		},
		app,
	);
	capConnectionsPerIp(http, config.limits.connectionsPerIp, log);
	const io: ParleyServer = new Server(http, {
		serveClient: false,
		// A client must authenticate (send its namespace CONNECT with the token) this soon.
		connectTimeout: timeouts.socketConnectMs,
		maxHttpBufferSize: 256 * 1024,
		pingInterval: config.presence.heartbeatIntervalMs,
		pingTimeout: config.presence.heartbeatTimeoutMs,
	});
	const ops = createOps({ config, sfu, io, logger, storeCheck: messageStoreCheck(messages), prepared: () => prepared.size });
	const cluster = createCluster({
		config,
		io,
		sfu,
		draining: () => ops.drainer.draining,
		inUse: (room) => sfu.rooms.has(room) || roomChannels(room).some((c) => (io.of('/').adapter.rooms.get(c)?.size ?? 0) > 0),
		// A host on another node of a spanning room muted or removed someone served here.
		moderate: (request) => control.moderateHere(meetings.get(request.room), request),
		// One meeting for a spanning room: a copy's people and changes (host node), the host's meeting (copy).
		meeting: (from, request) => spanMeetings!.fromCopy(from, request),
		mirror: (mirror) => spanMeetings?.fromHost(mirror),
		log,
	});
	opsRoutes.get('/admin/nodes', requireOperator(config.ops.adminToken, 'the admin API'), async (_req, res) => {
		if (!cluster) return void res.json({ cluster: false, nodes: [] });
		try {
			res.json({ cluster: true, self: cluster.nodeId, nodes: await cluster.registry.list() });
		} catch (error) {
			log.warn({ err: error }, 'cluster: cannot list the nodes');
			res.status(503).json({ ok: false, error: { code: ErrorCode.Unavailable, message: 'the cluster registry (Redis) is unreachable' } });
		}
	});
	opsRoutes.use(ops.router);
	const sessions = new SessionRegistry();
	if (cluster) bindClusterIdentity(io, sessions);
	const presence = new PresenceTracker({
		leaveAfterMs: config.presence.leaveAfterMs,
		store: messages,
		logger: logger.child({ component: 'presence' }),
		// Without placement a room's people may be on several nodes, and with it a room may span
		// nodes: ask the others who is there.
		...(cluster
			? {
					elsewhere: (room: string) =>
						!config.cluster.placement || cluster.spanning?.spans(room) ? connectedElsewhere(io, room) : Promise.resolve(new Map<string, string>()),
				}
			: {}),
	});
	presence.on('update', (room, p) => io.to(channels.chat(room)).emit('presence:update', p));

	const guardSession = installSessionGuard({ io, auth: config.auth, revocations, log });
	const meetings = new MeetingRegistry({
		defaults: { locked: false, waitingRoom: config.rooms.waitingRoom, allowSelfUnmute: config.rooms.allowSelfUnmute },
		firstIsHost: config.dev,
		emptyTimeoutMs: config.rooms.emptyTimeoutMs,
	});
	meetings.on('created', (meeting) => bindMeetingEvents(io, meeting, (room) => spanMeetings?.mode(room) ?? 'alone'));
	if (cluster && config.cluster.placement) {
		// In a cluster, after the token check: a room's connections all go to its host node.
		io.use(placeConnection(cluster, log, async (room) => (following ? meetingOnArrival(following, room) : undefined)));
		meetings.on('created', (meeting) => cluster.records.bind(meeting, () => cluster.placement.held.has(meeting.id)));
	}
	const webhooks = createWebhooks(config, logger);
	if (webhooks) bindWebhookEvents(webhooks, sfu, meetings, logger.child({ component: 'webhooks' }));
	const control = new MeetingControl({ io, sfu, sessions, revocations, log: logger.child({ component: 'meeting' }) });
	const spanMeetings = cluster ? new SpanMeetings({ meetings, control, spanning: () => cluster.spanning, log }) : null;
	if (spanMeetings) meetings.on('created', (meeting) => spanMeetings.bind(meeting));
	const following: FollowOptions | null = cluster ? { cluster, io, sfu, meetings, spanMeetings, log } : null;
	const recordings = new RecordingService({ config, sfu, sessions, log: logger.child({ component: 'recording' }) });
	// Everyone in the meeting and in its waiting room sees the recording state change.
	recordings.on('change', (room, state) => io.to([channels.chat(room), channels.waiting(room)]).emit('recording:state', state));
	recordings.on('problem', (room, problem) => io.to(channels.hosts(room)).emit('recording:problem', problem));
	recordingRoutes.use(
		recordingsRouter({
			config,
			recordings,
			revocations,
			isModerator: (room, identity) => meetings.get(room)?.isModerator(identity) === true,
			logger: logger.child({ component: 'recordings' }),
		}),
	);
	mountServerApi(serverApi, { config, sfu, meetings, sessions, control, recordings });
	ops.adminRoutes.use(recordingAdminRoutes(recordings));
	if (webhooks) bindRecordingWebhooks(webhooks, recordings, logger.child({ component: 'webhooks' }));
	admitConnections(io, { config, meetings, log });

	const span: RoomSpan | undefined = cluster
		? {
				spans: (room) => cluster.spanning?.spans(room) ?? false,
				isCopy: (room) => cluster.spanning?.isCopy(room) ?? false,
				beforeAnnounce: (room, producer) => cluster.spanning?.beforeAnnounce(room, producer) ?? Promise.resolve(),
			}
		: undefined;
	sfu.on('roomcreated', (room) => {
		bindRoomEvents(io, room, span);
		cluster?.spanning?.bind(room);
	});

	io.on('connection', (socket) => {
		const claims = socket.data.claims;
		const sessionLog = logger.child({ roomId: claims.room, peerId: claims.sub, socketId: socket.id });
		const session: Session = { socket, claims, log: sessionLog, room: undefined, peer: undefined };
		const meeting = meetings.getOrCreate(claims.room);
		const arrival = meeting.arrive({
			identity: claims.sub,
			name: claims.name,
			tokenRole: claims.role,
			skipWaitingRoom: claims.grants.skipWaitingRoom,
		});
		const who = `${claims.room}:${claims.sub}`;
		const address = clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for']);
		const ctx: HandlerContext = {
			socket,
			log: sessionLog,
			limiter: {
				take: async () => (await rateLimits.take('requests', who)) && (await rateLimits.take('ipRequests', address)),
			},
			limit: (name) => rateLimits.take(name, who),
			observe: ops.metrics.observer(session),
			config,
			io,
			sfu,
			session,
			sessions,
			messages,
			files,
			presence,
			prepared,
			meeting,
			control,
			recordings,
			arrival,
			...(cluster?.spanning ? { span: cluster.spanning } : {}),
			...(spanMeetings ? { spanMeeting: spanMeetings } : {}),
		};
		guardSession(socket);
		rejectUnknownEvents(ctx, knownEvents);
		sessionLog.info({ name: claims.name, role: arrival.role, waiting: arrival.waiting }, 'connected');
		const enter = (): void => {
			for (const register of features) register(ctx);
		};
		if (!arrival.waiting) enter();
		else {
			// Consent: people waiting to be let in know whether the meeting is being recorded.
			socket.emit('recording:state', recordings.state(claims.room));
			try {
				registerWaitingRoom(ctx, knownEvents, enter);
			} catch {
				socket.emit('session:ended', { reason: 'room-closed' });
				socket.disconnect(true);
			}
		}
	});

	return {
		http,
		io,
		sessions,
		presence,
		revocations,
		ops,
		meetings,
		control,
		recordings,
		webhooks,
		cluster,
		listen: async () => {
			const address = await new Promise<AddressInfo>((resolve, reject) => {
				http.once('error', reject);
				http.listen(config.http.port, config.http.host, () => {
					http.off('error', reject);
					resolve(http.address() as AddressInfo);
				});
			});
			await cluster?.start(address.port);
			if (following) followCluster(following, ops.drainer);
			return address;
		},
		close: async () => {
			io.local.emit('session:ended', { reason: 'server-shutdown' });
			await recordings.close();
			prepared.close();
			await io.close();
			await cluster?.close();
			ops.close();
			presence.close();
			meetings.close();
			await webhooks?.close(true);
			if (!options.revocations) await revocations.close();
			await rateLimits.close();
			http.closeAllConnections();
		},
	};
}

const FETCH_SOCKETS_TIMEOUT_MS = 1500;
/** A receive transport prepared in the lobby and not taken by a join is closed after this long (the client prepares again). */
const PREPARED_TTL_MS = 120_000;
/** Prepared receive transports waiting for their join on one node, at most. */
const PREPARED_MAX = 1000;

/** Identities (→ name) with a socket in the room's messaging on another node; empty when the nodes cannot be asked. */
async function connectedElsewhere(io: ParleyServer, room: string): Promise<Map<string, string>> {
	const local = io.of('/').sockets;
	const found = new Map<string, string>();
	try {
		// A live node answers in milliseconds; one that just died is not waited for long (the
		// adapter's default is 5 s, and the presence snapshot of whoever connects waits on this).
		for (const s of await io.in(channels.chat(room)).timeout(FETCH_SOCKETS_TIMEOUT_MS).fetchSockets()) {
			if (!local.has(s.id)) found.set(s.data.claims.sub, s.data.claims.name);
		}
	} catch {
		// A node did not answer in time (it just died): what this node knows stands.
	}
	return found;
}

/** The client's address: behind a proxy on loopback (trusted, as for Express), the last hop it added. */
export function clientAddress(remote: string, forwardedFor: string | string[] | undefined): string {
	const loopback = remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
	const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
	if (!loopback || !header) return remote;
	const hops = header.split(',').map((h) => h.trim()).filter(Boolean);
	return hops.at(-1) ?? remote;
}
