/**
 * The whole configuration: one zod schema whose defaults are the embedded, one-machine
 * setup. Every leaf is settable from the environment as PARLEY_<PATH> (see envName())
 * or from a JSON file named by PARLEY_CONFIG.
 */
import os from 'node:os';
import { z } from 'zod';

const Port = z.coerce.number().int().min(1).max(65535);
const Bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) =>
	typeof v === 'boolean' ? v : v === 'true' || v === '1' || v === 'yes',
);
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const ConfigSchema = z.strictObject({
	/** Development mode: dev token endpoint on, random JWT secret allowed. */
	dev: Bool.default(false),
	http: z
		.strictObject({
			host: z.string().min(1).default('0.0.0.0'),
			port: Port.default(3000),
			/** The URL people open (printed at start, used in shareable links). Default: http://localhost:<port>. */
			publicUrl: z.url().optional(),
		})
		.prefault({}),
	media: z
		.strictObject({
			/** mediasoup workers; default one per CPU core. */
			workers: z.coerce.number().int().min(1).max(64).default(() => os.availableParallelism()),
			/** Address the WebRtcServers listen on. */
			listenIp: z.union([z.ipv4(), z.ipv6()]).default('0.0.0.0'),
			/** Address put in ICE candidates; default: the machine's first non-internal IPv4, else 127.0.0.1. */
			announcedAddress: z.string().min(1).optional(),
			/** Worker i listens on UDP and TCP port basePort + i. */
			basePort: Port.default(40000),
			/**
			 * Send and receive buffer of each worker's media sockets (bytes; 0: the kernel's default).
			 * Linux caps it at net.core.rmem_max / wmem_max (and doubles what it grants).
			 */
			socketBufferBytes: z.coerce.number().int().min(0).max(256 * 1024 * 1024).default(1024 * 1024),
			/** Initial outgoing bitrate estimate of a WebRTC transport (bps). */
			initialOutgoingBitrate: z.coerce.number().int().min(100_000).max(10_000_000).default(1_000_000),
			/**
			 * Floor under the SFU's send estimate toward each participant (bps; 0: none): random
			 * loss is not read as congestion, so a viewer on a lossy link keeps the layers it can take.
			 */
			minOutgoingBitrate: z.coerce.number().int().min(0).max(10_000_000).default(300_000),
			/** Floor under each publisher's own video send estimate, x-google-min-bitrate in the router's codecs (kbps; 0: none). */
			videoMinBitrateKbps: z.coerce.number().int().min(0).max(10_000).default(0),
			workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
			/** Rooms' video codec: VP8 simulcast, or VP9 SVC (L3T3_KEY). */
			videoCodec: z.enum(['vp8', 'vp9']).default('vp8'),
			/** How often each room measures its participants' connection quality (ms; 0: never). */
			qualityIntervalMs: z.coerce.number().int().min(0).max(60_000).default(2000),
			/** Dynacast waits this long before telling a publisher to stop encoding unneeded layers (ms). */
			dynacastLowerDelayMs: z.coerce.number().int().min(0).max(60_000).default(2000),
			/**
			 * Keyframe requests to a video publisher are at least this far apart (ms; 0: sent at once);
			 * the ones in between are held and sent together at the end. Chromium takes one request
			 * per 300 ms and drops the rest (libwebrtc's kMinKeyframeSendIntervalMs), after which the
			 * SFU asks again only a second later: people joining close together would wait that long.
			 */
			keyFrameRequestDelayMs: z.coerce.number().int().min(0).max(5000).default(350),
		})
		.prefault({}),
	turn: z
		.strictObject({
			/**
			 * TURN servers handed to clients (turn:host:port?transport=udp|tcp, turns:host:port?transport=tcp),
			 * comma-separated. Empty: no TURN (clients reach the media ports directly or over ICE-TCP).
			 */
			urls: z
				.union([z.array(z.string()), z.string()])
				.transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
				.pipe(z.array(z.string().regex(/^turns?:[^\s]+$/, 'TURN URLs start with turn: or turns:')).max(10))
				.default([]),
			/** coturn's static-auth-secret (use-auth-secret): Parley mints each client's time-limited credentials with it. */
			secret: z.string().min(16, 'the TURN secret must be at least 16 characters').optional(),
			/** Lifetime of a minted TURN credential (seconds); a client gets fresh ones with every ICE restart. */
			credentialTtlSeconds: z.coerce.number().int().min(60).max(7 * 86400).default(12 * 3600),
		})
		.refine((t) => t.urls.length === 0 || t.secret !== undefined, { message: 'turn.urls needs turn.secret', path: ['secret'] })
		.prefault({}),
	placement: z
		.strictObject({
			/** A room stays on its workers until one forwards this many streams (consumers); then peers go where there is most headroom. 0: always by headroom. */
			spreadConsumers: z.coerce.number().int().min(0).max(100_000).default(500),
			/** ... or until its CPU is above this (percent of one core). */
			spreadCpuPercent: z.coerce.number().min(1).max(100).default(70),
			/** A pipe between two routers of a room that nobody needs any more is closed after this long (ms). */
			pipeIdleMs: z.coerce.number().int().min(0).max(600_000).default(1000),
		})
		.prefault({}),
	cluster: z
		.strictObject({
			/** This node's name in the cluster (with redis.url). Default: <hostname>:<http.port>. */
			nodeId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, . _ : - (at most 64)').optional(),
			/** How often a node writes its entry (URL, media address, load) to Redis (ms). */
			heartbeatMs: z.coerce.number().int().min(100).max(60_000).default(1000),
			/** A node whose entry is not renewed for this long is gone (ms; must exceed heartbeatMs). */
			nodeTtlMs: z.coerce.number().int().min(300).max(600_000).default(3000),
			/**
			 * Rooms are hosted by one node each (connections for a room go to its node). false: a
			 * connection stays on the node the load balancer chose; messaging crosses nodes, media does not.
			 */
			placement: Bool.default(true),
			/** A room's host renews its claim on the room this often / 3; a claim not renewed for this long lapses (ms). */
			roomLeaseMs: z.coerce.number().int().min(300).max(600_000).default(10_000),
			/**
			 * A room spreads to another node once its host has this many of its participants (with
			 * placement): later ones get a copy of the room on another node, linked to the host with
			 * mediasoup pipe transports (cascading). 0: a room never spreads.
			 */
			roomSpreadPeers: z.coerce.number().int().min(0).max(1000).default(50),
		})
		.refine((c) => c.nodeTtlMs > c.heartbeatMs, { message: 'cluster.nodeTtlMs must exceed cluster.heartbeatMs', path: ['nodeTtlMs'] })
		.prefault({}),
	rooms: z
		.strictObject({
			/** How long an empty room keeps its router before it is closed (ms). */
			emptyTimeoutMs: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
			maxPeers: z.coerce.number().int().min(2).max(1000).default(100),
			/** New meetings start with a waiting room (hosts can turn it on and off). */
			waitingRoom: Bool.default(false),
			/** In new meetings, people a host muted may unmute themselves (false: only after a host asks them to). */
			allowSelfUnmute: Bool.default(true),
		})
		.prefault({}),
	auth: z
		.strictObject({
			/** HS256 secrets, comma-separated: the first signs, all verify (rotation). At least 32 characters each. */
			jwtSecrets: z
				.union([z.array(z.string()), z.string()])
				.transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
				.pipe(z.array(z.string().min(32, 'JWT secrets must be at least 32 characters')))
				.default([]),
			audience: z.string().min(1).default('parley'),
			issuer: z.string().min(1).default('parley'),
			/** Lifetime of tokens minted by the dev endpoint and the token CLI (seconds). */
			tokenTtlSeconds: z.coerce.number().int().min(60).max(30 * 86400).default(6 * 3600),
			/** Longest lifetime (exp - iat) a join token may have; longer ones are refused (seconds). */
			maxTokenLifetimeSeconds: z.coerce.number().int().min(60).max(30 * 86400).default(24 * 3600),
		})
		.prefault({}),
	api: z
		.strictObject({
			/**
			 * Integrator API keys, comma-separated `key:secret` pairs (secret at least 32
			 * characters). Requests to /api/server are signed with a key's secret; none: the API is off.
			 */
			keys: z
				.union([z.array(z.string()), z.string()])
				.transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
				.pipe(
					z.array(
						z
							.string()
							.regex(/^[A-Za-z0-9_-]{3,64}:.{32,}$/, 'API keys are key:secret, the key 3-64 of A-Z a-z 0-9 _ -, the secret at least 32 characters')
							.transform((pair) => ({ key: pair.slice(0, pair.indexOf(':')), secret: pair.slice(pair.indexOf(':') + 1) })),
					),
				)
				.default([]),
		})
		.prefault({}),
	webhooks: z
		.strictObject({
			/** URLs that receive every event (comma-separated); none: webhooks are off. */
			urls: z
				.union([z.array(z.string()), z.string()])
				.transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
				.pipe(z.array(z.url({ protocol: /^https?$/ })))
				.default([]),
			/** HMAC-SHA256 key of the deliveries' signature (required with urls; at least 32 characters). */
			secret: z.string().min(32, 'the webhook secret must be at least 32 characters').optional(),
			/** First retry delay; doubles on each failure up to maxBackoffMs (ms). */
			initialBackoffMs: z.coerce.number().int().min(10).max(3_600_000).default(1000),
			maxBackoffMs: z.coerce.number().int().min(10).max(86_400_000).default(60_000),
			/** A delivery is retried until a 2xx for this long, then dropped (logged as an error) (seconds). */
			retryForSeconds: z.coerce.number().int().min(1).max(30 * 86400).default(86400),
			/** Timeout of one delivery attempt (ms). */
			timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
		})
		.prefault({})
		.refine((w) => w.urls.length === 0 || w.secret !== undefined, {
			message: 'set webhooks.secret (PARLEY_WEBHOOKS_SECRET) to sign deliveries',
			path: ['secret'],
		}),
	log: z.strictObject({ level: LogLevel.default('info') }).prefault({}),
	data: z
		.strictObject({
			/** Where the embedded default keeps chat messages (SQLite) and uploaded files. */
			dir: z.string().min(1).default('data'),
		})
		.prefault({}),
	redis: z
		.strictObject({
			/** redis:// URL. When set, chat messages live in Redis (the scale-out setting). */
			url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
		})
		.prefault({}),
	presence: z
		.strictObject({
			/** Socket.IO heartbeat: a ping every interval; a client silent for interval + timeout is dead. */
			heartbeatIntervalMs: z.coerce.number().int().min(1000).max(60_000).default(5000),
			heartbeatTimeoutMs: z.coerce.number().int().min(1000).max(60_000).default(5000),
			/** A disconnected participant shows as reconnecting for this long, then as left. */
			leaveAfterMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
		})
		.prefault({}),
	chat: z
		.strictObject({
			/** Flood control per participant: sustained messages per second, and the burst allowed. */
			messagesPerSecond: z.coerce.number().min(0.1).max(10_000).default(5),
			messagesBurst: z.coerce.number().int().min(1).max(10_000).default(20),
			/**
			 * When a message is acknowledged. 'disk': once it is on disk (SQLite fsyncs every
			 * commit; Redis must run appendonly yes + appendfsync always, checked at connect).
			 * 'process': once the store has it; survives a crash of Parley or Redis, but a host
			 * crash or power cut may lose the last ~1 s (SQLite synchronous=NORMAL; Redis everysec).
			 */
			durability: z.enum(['disk', 'process']).default('disk'),
		})
		.prefault({}),
	ops: z
		.strictObject({
			/** Bearer token for GET /metrics from other machines (loopback needs none; unset: loopback only). */
			metricsToken: z.string().min(16, 'tokens must be at least 16 characters').optional(),
			/** Bearer token for the admin endpoints (/admin/*, `npm run admin`) from other machines (unset: loopback only). */
			adminToken: z.string().min(16, 'tokens must be at least 16 characters').optional(),
			/** Drain (SIGTERM, `npm run admin -- drain`): meetings may continue this long before they are ended (ms). */
			drainGraceMs: z.coerce.number().int().min(0).max(24 * 3_600_000).default(600_000),
		})
		.prefault({}),
	/** What one participant, identity or address may do (see the README's Limits table). */
	limits: z
		.strictObject({
			/** WebRTC transports per direction a participant may hold. */
			transportsPerDirection: z.coerce.number().int().min(1).max(16).default(2),
			/** Consumers of one producer a participant may hold. */
			consumersPerProducer: z.coerce.number().int().min(1).max(16).default(2),
			/** Socket.IO requests per identity in a room (all its sockets together): sustained rate and burst. */
			requestsPerSecond: z.coerce.number().min(1).max(100_000).default(50),
			requestsBurst: z.coerce.number().int().min(1).max(100_000).default(200),
			/** Socket.IO requests per client address (every identity behind it together). */
			ipRequestsPerSecond: z.coerce.number().min(1).max(1_000_000).default(500),
			ipRequestsBurst: z.coerce.number().int().min(1).max(1_000_000).default(2000),
			/** Typing notifications per identity. */
			typingPerSecond: z.coerce.number().min(0.1).max(1000).default(2),
			typingBurst: z.coerce.number().int().min(1).max(1000).default(6),
			/** Presence changes (online/away) per identity. */
			presencePerSecond: z.coerce.number().min(0.1).max(1000).default(1),
			presenceBurst: z.coerce.number().int().min(1).max(1000).default(5),
			/** Socket.IO connections of one identity in one room at once. */
			socketsPerIdentity: z.coerce.number().int().min(1).max(100).default(4),
			/** Open TCP connections (HTTP and WebSocket) per client address. */
			connectionsPerIp: z.coerce.number().int().min(1).max(100_000).default(256),
			/**
			 * Receive connections prepared in lobbies and waiting for their join, per client address
			 * (an invitation lets one client mint identities; people behind one NAT share an address).
			 */
			preparedPerAddress: z.coerce.number().int().min(1).max(100_000).default(32),
		})
		.prefault({}),
	files: z
		.strictObject({
			/** Largest file that may be attached to a chat message (bytes). */
			maxBytes: z.coerce.number().int().min(1024).max(2 ** 31).default(25 * 1024 * 1024),
			/** Bytes of attachments one room may hold in all. */
			roomQuotaBytes: z.coerce.number().int().min(1024).max(2 ** 45).default(1024 * 1024 * 1024),
			/** Attachments are deleted this many days after upload (0: kept forever). */
			retentionDays: z.coerce.number().min(0).max(36500).default(30),
		})
		.prefault({}),
	recording: z
		.strictObject({
			/** Where recordings go (default: `<data.dir>/recordings`). */
			dir: z.string().min(1).optional(),
			/** The ffmpeg binary that writes the files. */
			ffmpegPath: z.string().min(1).default('ffmpeg'),
			/** Loopback UDP ports the recorder processes listen on (two per recorded track: RTP, RTCP). */
			rtpPortMin: z.coerce.number().int().min(1024).max(65534).default(30000),
			rtpPortMax: z.coerce.number().int().min(1025).max(65535).default(30999),
			/** One meeting's recording stops when its files reach this size (bytes). */
			maxBytes: z.coerce.number().int().min(1024 * 1024).max(2 ** 45).default(4 * 1024 ** 3),
			/** No new recording starts while the recordings folder holds more than this (bytes). */
			quotaBytes: z.coerce.number().int().min(1024 * 1024).max(2 ** 50).default(50 * 1024 ** 3),
			/** No recording starts, and those running stop, while the recordings disk has less free space than this (bytes; 0: not checked). */
			minFreeBytes: z.coerce.number().int().min(0).max(2 ** 50).default(256 * 1024 ** 2),
			/** Recordings are deleted this many days after they end (0: kept forever). */
			retentionDays: z.coerce.number().min(0).max(36500).default(30),
		})
		.refine((r) => r.rtpPortMax > r.rtpPortMin, { message: 'rtpPortMax must be above rtpPortMin', path: ['rtpPortMax'] })
		.prefault({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
