/**
 * The request edge: every client → server event goes through `handle()`, which
 * validates the payload with the protocol's zod schema, applies the per-socket rate
 * limit, runs the handler and always answers the ack with a Result — never a crash.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import {
	ErrorCode,
	ProtocolError,
	requestSchemas,
	type ParsedRequest,
	type ProtocolErrorBody,
	type RequestName,
	type ResponseData,
	type Result,
} from './protocol/index.ts';
import { InvalidStateError, LimitError, NotFoundError, UnavailableError } from '../sfu/index.ts';
import { MessageValidationError, StoreUnavailableError } from './chat/MessageStore.ts';
import type { ParleySocket } from './session.ts';
import { end, tokenExpired } from './auth/sessionGuard.ts';

export type RequestHandler<K extends RequestName> = (payload: ParsedRequest<K>) => Promise<ResponseData<K>> | ResponseData<K>;

/** Told how each request went (metrics): its name, how long it took (seconds), whether it succeeded. */
export type RequestObserver = (name: RequestName, seconds: number, ok: boolean) => void;

export interface RpcContext {
	socket: ParleySocket;
	log: Logger;
	/** The request rate limit of this connection's identity and address (false: refused). */
	limiter: { take(): boolean | Promise<boolean> };
	observe?: RequestObserver;
}

/** Register one request handler on a socket. */
export function handle<K extends RequestName>(ctx: RpcContext, name: K, handler: RequestHandler<K>): void {
	const schema = requestSchemas[name] as unknown as z.ZodType<ParsedRequest<K>>;
	// Socket.IO hands us whatever the client sent: type the listener by what is really possible.
	const listener = async (...args: unknown[]): Promise<void> => {
		const ack = args.at(-1);
		if (typeof ack !== 'function') {
			ctx.log.debug({ event: name }, 'request without ack ignored');
			return;
		}
		const reply = ack as (result: Result<ResponseData<K>>) => void;
		const started = performance.now();
		try {
			if (tokenExpired(ctx.socket)) {
				end(ctx.socket, 'token-expired');
				throw new ProtocolError(ErrorCode.Unauthorized, 'the join token expired');
			}
			if (!(await ctx.limiter.take())) throw new ProtocolError(ErrorCode.RateLimited, 'too many requests; slow down');
			const parsed = schema.safeParse(args.length >= 2 ? args[0] : undefined);
			if (!parsed.success) throw new ProtocolError(ErrorCode.BadRequest, describeZodError(parsed.error));
			const data = await handler(parsed.data);
			reply({ ok: true, data });
			ctx.observe?.(name, (performance.now() - started) / 1000, true);
			ctx.log.trace({ event: name, ms: Math.round(performance.now() - started) }, 'request ok');
		} catch (error) {
			const body = toErrorBody(error);
			if (body.code === ErrorCode.Internal) ctx.log.error({ err: error, event: name }, 'request failed');
			else if (error instanceof StoreUnavailableError) ctx.log.warn({ err: error, event: name }, 'request failed: store unavailable');
			else ctx.log.debug({ event: name, code: body.code, message: body.message }, 'request refused');
			reply({ ok: false, error: body });
			ctx.observe?.(name, (performance.now() - started) / 1000, false);
		}
	};
	ctx.socket.on(name, listener as never);
}

/** Answer events that are not part of the protocol instead of leaving the client hanging. */
export function rejectUnknownEvents(ctx: RpcContext, known: ReadonlySet<string>): void {
	ctx.socket.onAny((event: string, ...args: unknown[]) => {
		if (known.has(event)) return;
		const ack = args.at(-1);
		ctx.log.debug({ event }, 'unknown event');
		if (typeof ack === 'function') {
			(ack as (r: Result<never>) => void)({
				ok: false,
				error: { code: ErrorCode.UnknownEvent, message: `unknown event ${JSON.stringify(event).slice(0, 80)}` },
			});
		}
	});
}

export function toErrorBody(error: unknown): ProtocolErrorBody {
	if (error instanceof ProtocolError) return error.toBody();
	if (error instanceof StoreUnavailableError) return { code: ErrorCode.Unavailable, message: 'the message store is unavailable; retry shortly' };
	if (error instanceof z.ZodError) return { code: ErrorCode.BadRequest, message: describeZodError(error) };
	if (error instanceof NotFoundError) return { code: ErrorCode.NotFound, message: error.message };
	if (error instanceof InvalidStateError) return { code: ErrorCode.InvalidState, message: error.message };
	if (error instanceof UnavailableError) return { code: ErrorCode.Unavailable, message: error.message };
	// The store checks what the protocol let through (e.g. history before seq 0): the client's mistake.
	if (error instanceof MessageValidationError) return { code: ErrorCode.BadRequest, message: error.message };
	if (error instanceof LimitError) return { code: ErrorCode.LimitExceeded, message: error.message };
	// mediasoup validates parameters deeply and throws TypeError / UnsupportedError on bad input.
	if (error instanceof TypeError || (error instanceof Error && error.name === 'UnsupportedError')) {
		return { code: ErrorCode.BadRequest, message: error.message };
	}
	return { code: ErrorCode.Internal, message: 'internal error' };
}

export function describeZodError(error: z.ZodError): string {
	const issue = error.issues[0];
	if (!issue) return 'invalid payload';
	const where = issue.path.length ? issue.path.join('.') : 'payload';
	const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
	return `${where}: ${issue.message}${more}`;
}
