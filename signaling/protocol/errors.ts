/**
 * Error codes carried in `{ ok: false, error: { code, message } }` answers.
 * A closed set: clients switch on `code`, humans read `message`.
 */
export const ErrorCode = {
	/** The payload failed validation (shape, types, limits). */
	BadRequest: 'bad_request',
	/** No valid token, or the token is expired, malformed or for another audience. */
	Unauthorized: 'unauthorized',
	/** The token is valid but its grants do not allow this action. */
	Forbidden: 'forbidden',
	/** The referenced transport, producer, consumer or peer does not exist (for this peer). */
	NotFound: 'not_found',
	/** The action does not fit the current state (e.g. media before joining). */
	InvalidState: 'invalid_state',
	/** In the waiting room: nothing but waiting until a host lets you in. */
	NotAdmitted: 'not_admitted',
	/** The meeting is locked: no new joiners. */
	RoomLocked: 'room_locked',
	/** Too many requests or messages in a short time. */
	RateLimited: 'rate_limited',
	/** A cap on what one participant may hold was reached (transports, consumers of one producer, sockets). */
	LimitExceeded: 'limit_exceeded',
	/** The event name is not part of the protocol. */
	UnknownEvent: 'unknown_event',
	/** A service the request needs (the message store) cannot answer now, or the server is draining and opens no new meetings: retry later with backoff. */
	Unavailable: 'unavailable',
	/**
	 * Handshake only, in a cluster: the room is hosted by another node. The error's data carries
	 * `node` (its id): connect again through the load balancer with the query `?node=<id>`.
	 */
	WrongNode: 'wrong_node',
	/** A server-side fault; details are in the server log, not in the answer. */
	Internal: 'internal',
	/**
	 * Client side only, never sent by the server: no answer in time (or the connection
	 * dropped before it came). Whether the request took effect is unknown.
	 */
	Timeout: 'timeout',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ProtocolErrorBody {
	code: ErrorCode;
	message: string;
}

/** What every request's acknowledgement carries. */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ProtocolErrorBody };

/** An error that handlers throw to answer with a specific code. */
export class ProtocolError extends Error {
	readonly code: ErrorCode;

	constructor(code: ErrorCode, message: string) {
		super(message);
		this.name = 'ProtocolError';
		this.code = code;
	}

	toBody(): ProtocolErrorBody {
		return { code: this.code, message: this.message };
	}
}
