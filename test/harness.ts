/**
 * Test harness: a real Parley server (real mediasoup worker, real Socket.IO) on random
 * loopback ports, and typed Socket.IO clients. Used by the integration tests.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config/index.ts';
import { Sfu } from '../sfu/index.ts';
import { mintToken, type MintOptions } from '../signaling/auth/tokens.ts';
import {
	type ClientToServerEvents,
	emitWithAck,
	type NotificationMap,
	type RequestName,
	type RequestPayload,
	type ResponseData,
	type Result,
	type ServerToClientEvents,
} from '../signaling/protocol/index.ts';
import { createParleyServer, type ParleyHttpServer, type ParleyServerOptions } from '../signaling/server.ts';
import { createMessageStore, type MessageStore } from '../signaling/chat/index.ts';
import { FileStore } from '../signaling/files/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomMediaPort } from './ports.ts';

export type TestClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer {
	config: Config;
	sfu: Sfu;
	server: ParleyHttpServer;
	messages: MessageStore;
	url: string;
	token(options: Partial<MintOptions> & { room: string }): string;
	client(token: string, reconnection?: boolean): Promise<TestClient>;
	close(): Promise<void>;
}


export interface TestServerOptions {
	env?: Record<string, string>;
	/** Share a message store across restarts (the test owns it). */
	messages?: MessageStore;
	/** HTTP port (default: any free one). */
	port?: number;
	/** Data directory kept across restarts (default: a fresh temporary one, removed at close). */
	dataDir?: string;
	/** Shorter HTTP/connect timeouts. */
	timeouts?: ParleyServerOptions['timeouts'];
	/** Prepared receive transports' lifetime and cap. */
	prepare?: ParleyServerOptions['prepare'];
}

export async function startTestServer({ env = {}, ...options }: TestServerOptions = {}): Promise<TestServer> {
	const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
	const config = loadConfig({
		env: {
			PARLEY_DEV: 'false',
			PARLEY_AUTH_JWT_SECRETS: 'test-secret-0123456789abcdef0123456789abcdef',
			PARLEY_HTTP_HOST: '127.0.0.1',
			PARLEY_HTTP_PORT: '1',
			PARLEY_MEDIA_WORKERS: '1',
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(randomMediaPort()),
			PARLEY_ROOMS_EMPTY_TIMEOUT_MS: '200',
			PARLEY_DATA_DIR: dataDir,
			// Recordings need this much free disk (the default, 256 MiB, would fail the tests on a nearly full machine).
			PARLEY_RECORDING_MIN_FREE_BYTES: String(16 * 1024 ** 2),
			...env,
		},
	});
	config.http.port = options.port ?? 0;
	const logger = pino({ level: process.env.PARLEY_TEST_LOG_LEVEL ?? 'silent' });
	const sfu = await Sfu.create(config, logger);
	const messages = options.messages ?? createMessageStore({ dataDir });
	const files = new FileStore({ dataDir: config.data.dir });
	const server = createParleyServer({ config, logger, sfu, messages, files, clientDist: '/nonexistent', ...(options.timeouts ? { timeouts: options.timeouts } : {}), ...(options.prepare ? { prepare: options.prepare } : {}) });
	const address = await server.listen();
	const url = `http://127.0.0.1:${address.port}`;
	const clients: TestClient[] = [];
	return {
		config,
		sfu,
		server,
		messages,
		url,
		token: (options) => mintToken(config.auth, { name: 'Tester', ...options }).token,
		client: async (token, reconnection = false) => {
			const socket = await connectClient(url, token, reconnection, clients);
			return socket;
		},
		close: async () => {
			for (const c of clients) c.disconnect();
			await server.close();
			sfu.close();
			if (!options.messages) await messages.close();
			if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

/**
 * A typed Socket.IO client connected to `url` with a join token (kept in `track` to be closed
 * by its owner). `listen` attaches listeners before the connection opens (for what the server
 * sends at once, e.g. the presence snapshot).
 */
export async function connectClient(
	url: string,
	token: string,
	reconnection = false,
	track?: TestClient[],
	listen?: (socket: TestClient) => void,
): Promise<TestClient> {
	const socket: TestClient = connect(url, {
		auth: { token },
		transports: ['websocket'],
		reconnection,
		reconnectionDelay: 50,
		reconnectionDelayMax: 500,
		forceNew: true,
	});
	track?.push(socket);
	listen?.(socket);
	await new Promise<void>((resolve, reject) => {
		socket.once('connect', () => resolve());
		socket.once('connect_error', (error) => {
			socket.disconnect();
			reject(error);
		});
	});
	return socket;
}

/** Connect without expecting success: resolves with the connect_error (or throws if it connected). */
export function connectError(url: string, auth: Record<string, unknown>): Promise<Error & { data?: { code: string; message: string } }> {
	const socket: TestClient = connect(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
	return new Promise((resolve, reject) => {
		socket.once('connect', () => {
			socket.disconnect();
			reject(new Error('connected although it should have been refused'));
		});
		socket.once('connect_error', (error) => {
			socket.disconnect();
			resolve(error as Error & { data?: { code: string; message: string } });
		});
	});
}

/** Send a request and return the raw Result. */
export async function request<K extends RequestName>(
	socket: TestClient,
	name: K,
	payload: RequestPayload<K>,
): Promise<Result<ResponseData<K>>> {
	return emitWithAck(socket, name, payload, 5000);
}

/** Send anything (a malformed payload, an unknown event) through the same helper, as a hostile client would. */
export function rawRequest(socket: TestClient, event: string, payload: unknown): Promise<Result<unknown>> {
	return emitWithAck(socket, event as RequestName, payload as never, 3000);
}

/** Send a request and return its data, failing the test on an error answer. */
export async function ok<K extends RequestName>(socket: TestClient, name: K, payload: RequestPayload<K>): Promise<ResponseData<K>> {
	const result = await request(socket, name, payload);
	if (!result.ok) throw new Error(`${name} failed: ${result.error.code}: ${result.error.message}`);
	return result.data;
}

/** Wait for the next notification of one kind (matching a predicate), with a timeout. */
export function next<E extends keyof NotificationMap>(
	socket: TestClient,
	event: E,
	match: (payload: NotificationMap[E]) => boolean = () => true,
	timeoutMs = 3000,
): Promise<NotificationMap[E]> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			socket.off(event, listener as never);
			reject(new Error(`no ${event} within ${timeoutMs} ms`));
		}, timeoutMs);
		const listener = (payload: NotificationMap[E]): void => {
			if (!match(payload)) return;
			clearTimeout(timer);
			socket.off(event, listener as never);
			resolve(payload);
		};
		socket.on(event, listener as never);
	});
}

/** Minimal, valid RTP parameters for a synthetic producer (no real media needed to negotiate). */
export function syntheticRtpParameters(kind: 'audio' | 'video', ssrc: number) {
	return {
		mid: kind === 'audio' ? '0' : '1',
		codecs:
			kind === 'audio'
				? [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }]
				: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }] }],
		headerExtensions: [],
		encodings: [{ ssrc }],
		rtcp: { cname: `cname-${ssrc}` },
	};
}

/** Join a room with the router's own capabilities (able to consume everything). */
export async function joinRoom(socket: TestClient) {
	const { rtpCapabilities } = await ok(socket, 'media:getRouterRtpCapabilities', {});
	return ok(socket, 'room:join', { rtpCapabilities });
}
