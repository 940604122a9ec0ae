/**
 * The signaling session: one Socket.IO socket with the join token, its reconnection, the
 * typed requests (the protocol's one request helper) and the server's notifications.
 * It knows nothing of media: RoomClient starts a media session on every (re)connect.
 *
 * Reconnection: a lost transport is reconnected by Socket.IO itself; a server that closes
 * the socket on purpose after announcing a shutdown (a restart) is reconnected by hand after
 * a moment; any other end is final.
 *
 * In a cluster, the node the load balancer picked may not host the room: it refuses the
 * handshake with `wrong_node` and the host's id, and the session connects again with
 * `?node=<id>`, which the load balancer routes to that node (a few times at most).
 */
import type { Manager, Socket } from 'socket.io-client';
import type {
	ClientToServerEvents,
	NotificationMap,
	PreparedMedia,
	RequestName,
	RequestPayload,
	ResponseData,
	ServerToClientEvents,
	SessionEndReason,
} from '../../../signaling/protocol/index.ts';
import { emitWithAck, REQUEST_TIMEOUT_MS } from '../../../signaling/protocol/request.ts';
import { peekToken } from '../lib/token.ts';
import { createManager } from './connection.ts';
import { describeServerRejection, RoomError } from './errors.ts';
import { mark } from './marks.ts';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SignalingHandlers {
	/** Connected (first time or again): start a media session. */
	connected(first: boolean): void;
	/** The connection dropped and is being re-established. */
	reconnecting(): void;
	/**
	 * The connection stays but the media must be set up again (the server moved it to another
	 * worker); `prepared`: the new session the server already set up there, if it could.
	 */
	restartMedia(prepared: PreparedMedia | undefined): void;
	/** The session cannot go on (refused, ended by the server, unreachable at first). */
	failed(error: RoomError, initial: boolean): void;
}

const END_MESSAGES: Record<Exclude<SessionEndReason, 'server-shutdown'>, string> = {
	'duplicate-identity': 'You joined this meeting from another tab or device, so this one was disconnected.',
	'room-closed': 'The meeting has ended.',
	'token-expired': 'Your meeting link has expired. Ask for a new invitation link.',
	removed: 'A host removed you from this meeting.',
	'meeting-ended': 'A host ended the meeting for everyone.',
};

/** wrong_node refusals followed in a row before giving up (the cluster is re-placing the room). */
const MAX_REDIRECTS = 10;

export class SignalingSession {
	readonly token: string;
	/** The token's subject: this participant's identity (read, not verified: the server verifies). */
	readonly identity: string;
	readonly #socket: ParleySocket;
	#closed = false;
	#started = false;
	#serverRestarting = false;
	#reconnectTimer: ReturnType<typeof setTimeout> | null = null;
	#redirects = 0;

	constructor(options: { token: string; url?: string; manager?: Manager | null }) {
		this.token = options.token;
		this.identity = peekToken(options.token).sub ?? '';
		const manager = options.manager ?? createManager(options.url);
		this.#socket = manager.socket('/', { auth: { token: options.token } }) as ParleySocket;
	}

	/** The socket, for features that share the connection (chat, presence). */
	get socket(): ParleySocket {
		return this.#socket;
	}

	get connected(): boolean {
		return this.#socket.connected;
	}

	/** Connect; the handlers hear about every (re)connect, drop and failure from now on. */
	start(handlers: SignalingHandlers): void {
		if (this.#started || this.#closed) return;
		this.#started = true;
		let initial = true;
		const s = this.#socket;
		s.on('connect', () => {
			mark('socket-connected');
			const first = initial;
			initial = false;
			this.#redirects = 0;
			handlers.connected(first);
		});
		s.on('connect_error', (err: Error & { data?: unknown }) => {
			const data = err.data as { code?: string; message?: string; node?: unknown } | undefined;
			if (data?.code === 'wrong_node' && typeof data.node === 'string' && this.#redirects < MAX_REDIRECTS) {
				// The manager closed with the refusal; it opens again with the host's id in the query.
				// Sent to the same node again: the load balancer could not reach it (it is dying and
				// the cluster has not noticed yet): wait a moment.
				const again = (s.io.opts.query as Record<string, string> | undefined)?.node === data.node;
				this.#redirects++;
				s.io.opts.query = { ...(s.io.opts.query as Record<string, string> | undefined), node: data.node };
				this.#reconnectTimer = setTimeout(() => {
					this.#reconnectTimer = null;
					if (!this.#closed) s.connect();
				}, again ? 1000 : 0);
				return;
			}
			// Refused by the server (bad token, room full...): Socket.IO will not retry.
			const rejected = !s.active || typeof data?.code === 'string';
			if (!initial && !rejected) return;
			const error = rejected
				? new RoomError(data?.code ?? 'unauthorized', describeServerRejection(data?.code, data?.message ?? err.message))
				: new RoomError('network', 'Cannot reach the meeting server. Check your connection and try again.');
			handlers.failed(error, initial);
		});
		s.on('disconnect', (reason) => {
			if (this.#closed) return;
			if (reason === 'io server disconnect' && !this.#serverRestarting) {
				handlers.failed(new RoomError('ended', 'The server ended this session.'), false);
				return;
			}
			handlers.reconnecting();
			if (reason === 'io server disconnect') {
				this.#serverRestarting = false;
				this.#reconnectTimer = setTimeout(() => {
					this.#reconnectTimer = null;
					if (!this.#closed) s.connect();
				}, 1000 + Math.random() * 1000);
			}
		});
		this.on('session:ended', ({ reason }) => {
			// Probably a restart or an upgrade: keep the call and come back when it is up again.
			if (reason === 'server-shutdown') this.#serverRestarting = true;
			else handlers.failed(new RoomError('ended', END_MESSAGES[reason] ?? 'The meeting has ended.'), false);
		});
		this.on('media:reconnect', ({ prepared }) => {
			mark('media-reconnect-received');
			handlers.restartMedia(prepared);
		});
		mark('join-start');
		s.connect();
	}

	/** Listen to a server notification (ignored once closed; a throwing handler is logged, not fatal). */
	on<K extends keyof NotificationMap>(event: K, handler: (payload: NotificationMap[K]) => void): void {
		const wrapped = (payload: NotificationMap[K]): void => {
			if (this.#closed) return;
			try {
				handler(payload);
			} catch (error) {
				console.error(`[parley] ${event} handler failed`, error);
			}
		};
		// The mapped event types are too generic for Socket.IO's overloads; the payload type is checked above.
		(this.#socket.on as (ev: string, fn: (payload: NotificationMap[K]) => void) => void)(event, wrapped);
	}

	/** A request's data, or a RoomError (the server's code, or 'timeout'). */
	async request<K extends RequestName>(name: K, payload: RequestPayload<K>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ResponseData<K>> {
		if (this.#closed && name !== 'room:leave') throw new RoomError('closed', 'This session is closed.');
		const result = await emitWithAck(this.#socket, name, payload, timeoutMs);
		if (result.ok) return result.data;
		if (result.error.code === 'timeout') throw new RoomError('timeout', `The server did not answer (${name}).`);
		throw new RoomError(result.error.code, result.error.message);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
		this.#reconnectTimer = null;
		this.#socket.removeAllListeners();
		this.#socket.disconnect();
	}
}
