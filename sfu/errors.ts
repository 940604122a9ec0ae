/**
 * The SFU's few error classes. The signaling layer maps them to protocol error codes.
 */

/** A method was called on a closed object, or in a state that does not allow it. */
export class InvalidStateError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'InvalidStateError';
	}
}

/** A transport, producer, consumer or peer id that this owner does not have. */
export class NotFoundError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NotFoundError';
	}
}

/** The SFU cannot take this on now (e.g. the server is draining and refuses new rooms). */
export class UnavailableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'UnavailableError';
	}
}

/** A per-participant cap was reached (transports, consumers of one producer...). */
export class LimitError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'LimitError';
	}
}
