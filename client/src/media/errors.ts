/** The client's error type: a code (a protocol ErrorCode or a client-side one) and a message for people. */

export class RoomError extends Error {
	readonly code: string;
	constructor(code: string, message: string) {
		super(message);
		this.name = 'RoomError';
		this.code = code;
	}
}

export function toRoomError(error: unknown): RoomError {
	if (error instanceof RoomError) return error;
	if (error instanceof Error) return new RoomError('internal', error.message);
	return new RoomError('internal', String(error));
}

/** A failure to get a local track (permission, device gone) as a RoomError. */
export function mediaError(error: unknown): RoomError {
	return new RoomError('media', error instanceof Error ? error.message : String(error));
}

/** What to tell the person when the server refuses the connection. */
export function describeServerRejection(code: string | undefined, message: string): string {
	const detail = message.replace(/^unauthorized:\s*/i, '');
	switch (code) {
		case 'unauthorized':
			if (/removed/.test(detail)) return 'A host removed you from this meeting; you cannot rejoin with this link.';
			return `Your meeting link is not valid (${detail}). Ask for a new invitation link.`;
		case 'room_locked':
			return 'This meeting is locked: a host has closed it to new participants.';
		case 'forbidden':
			return `You are not allowed to join this meeting (${detail}).`;
		case 'rate_limited':
			return 'Too many attempts; wait a moment and try again.';
		default:
			return detail || 'The server refused the connection.';
	}
}
