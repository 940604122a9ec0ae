/**
 * The one typed request helper, used by every client of the protocol (the browser's
 * signaling session, ChatClient, PresenceStore, the tests and the bench bots): emit a
 * request, wait for its acknowledgement at most `timeoutMs`, and return its Result.
 * No answer in time (or a connection that dropped first) is `{ code: 'timeout' }`.
 */
import { ErrorCode, ProtocolError, type Result } from './errors.ts';
import type { RequestName, RequestPayload, ResponseData } from './requests.ts';

/** What the helper needs of a Socket.IO client socket (socket.io-client's `Socket` has it). */
export interface AckSocket {
	timeout(ms: number): unknown;
}

/** socket.io-client's timed emitter. Its generic event maps defeat overload resolution, so the helper's signature carries the types. */
interface TimedEmitter {
	emitWithAck(event: string, payload: unknown): Promise<unknown>;
}

export const REQUEST_TIMEOUT_MS = 10_000;

export async function emitWithAck<K extends RequestName>(
	socket: AckSocket,
	name: K,
	payload: RequestPayload<K>,
	timeoutMs: number = REQUEST_TIMEOUT_MS,
): Promise<Result<ResponseData<K>>> {
	let answer: unknown;
	try {
		answer = await (socket.timeout(timeoutMs) as TimedEmitter).emitWithAck(name, payload);
	} catch {
		return { ok: false, error: { code: ErrorCode.Timeout, message: `no answer to ${name} within ${timeoutMs} ms` } };
	}
	if (!isResult(answer)) return { ok: false, error: { code: ErrorCode.Internal, message: `malformed answer to ${name}` } };
	return answer as Result<ResponseData<K>>;
}

/** emitWithAck() that returns the data and throws a ProtocolError (the answer's code, or 'timeout'). */
export async function request<K extends RequestName>(
	socket: AckSocket,
	name: K,
	payload: RequestPayload<K>,
	timeoutMs?: number,
): Promise<ResponseData<K>> {
	const result = await emitWithAck(socket, name, payload, timeoutMs);
	if (!result.ok) throw new ProtocolError(result.error.code, result.error.message);
	return result.data;
}

function isResult(value: unknown): value is Result<unknown> {
	if (!value || typeof value !== 'object' || !('ok' in value)) return false;
	if (value.ok === true) return 'data' in value;
	return value.ok === false && 'error' in value && typeof value.error === 'object' && value.error !== null;
}
