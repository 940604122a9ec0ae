/**
 * Requests between nodes for cascading, over Redis pub/sub: each node subscribes to
 * `parley:cascade:<nodeId>`; a request names its reply channel (the asker's) and an id, and
 * the answer comes back there. It carries only what mediasoup's pipe transports need: the
 * link's endpoint (ip, port, SRTP parameters) and per producer its id, kind, RTP parameters.
 * Every message is validated with zod on arrival; a request unanswered within `timeoutMs`
 * fails (the other node is gone or slow), and a malformed one is dropped and logged.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { MediaSourceSchema } from '../protocol/media.ts';
import { meetingRequestSchema, meetingResultSchema, mirrorSchema, moderateResultSchema, moderateSchema, rehostSchema } from './spanMessages.ts';

const id = z.string().min(1).max(128);
const srtp = z.object({ cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']), keyBase64: z.string().max(128) });
export const endpointSchema = z.object({ ip: z.string().min(1).max(64), port: z.number().int().min(1).max(65535), srtpParameters: srtp.optional() });
const jsonRecord = z.record(z.string().max(64), z.unknown());
// Nodes share Redis and a secret: trusted, but bounded; mediasoup checks the parameters themselves.
const rtpParameters = z
	.object({
		mid: z.string().max(32).optional(),
		codecs: z.array(z.looseObject({ mimeType: z.string().max(64), payloadType: z.number().int(), clockRate: z.number().int() })).min(1).max(8),
		headerExtensions: z.array(z.looseObject({ uri: z.string().max(256), id: z.number().int() })).max(16).optional(),
		encodings: z.array(jsonRecord).max(8).optional(),
		rtcp: jsonRecord.optional(),
	})
	.loose();
export const pipedProducerSchema = z.object({
	producerId: id,
	kind: z.enum(['audio', 'video']),
	rtpParameters,
	paused: z.boolean(),
	appData: jsonRecord,
});

const producerInfo = z.object({ id, peerId: id, kind: z.enum(['audio', 'video']), source: MediaSourceSchema, paused: z.boolean() });
const peerInfo = z.object({ id, name: z.string().max(256), joinedAt: z.number(), producers: z.array(producerInfo).max(8) });
const producerRef = z.object({ room: id, producerId: id });
export { moderateSchema, type ModerateRequest, type ModerateResult, type MeetingRequest, type MeetingResult, type MeetingMirror } from './spanMessages.ts';

export const cascadeRequests = {
	/** Open (or find) the link for `room` between the asker and this node: here is my endpoint, answer yours. */
	open: { body: z.object({ room: id, endpoint: endpointSchema }), result: endpointSchema },
	/** Send me this producer of yours over the link. */
	pull: { body: z.object({ room: id, producerId: id }), result: pipedProducerSchema },
	/** Here is a producer of mine: produce it on your side of the link. */
	push: { body: z.object({ room: id, producer: pipedProducerSchema }), result: z.object({ producerId: id }) },
	/** The link for `room` is no longer needed. */
	close: { body: z.object({ room: id }), result: z.object({}) },
	/** A producer I sent you closed here: close your copy. */
	unpipe: { body: producerRef, result: z.object({}) },
	/** A producer I sent you was paused or resumed here. */
	paused: { body: producerRef.extend({ paused: z.boolean() }), result: z.object({}) },
	/** Stop sending me this producer (nobody here consumes it any more). */
	stop: { body: producerRef, result: z.object({}) },
	/** Who is in your copy of `room` (your own participants and what they publish). */
	roster: { body: z.object({ room: id }), result: z.object({ peers: z.array(peerInfo).max(1000), activeSpeaker: id.nullable() }) },
	/** Mute or remove your participant(s) of `room` (a host on my node asked; I checked the permission). */
	moderate: { body: moderateSchema, result: moderateResultSchema },
	/** (to the host node) My people in the meeting and who waits here; or a change for the host's meeting. */
	meeting: { body: meetingRequestSchema, result: meetingResultSchema },
	/** (from the host node) The meeting as it is now: follow it. */
	mirror: { body: mirrorSchema, result: z.object({}) },
	/** (from the room's new host node) Link your copy of the room to me and send me your producers. */
	rehost: { body: rehostSchema, result: z.object({}) },
} as const;
export type CascadeMethod = keyof typeof cascadeRequests;
export type CascadeBody<M extends CascadeMethod> = z.infer<(typeof cascadeRequests)[M]['body']>;
export type CascadeResult<M extends CascadeMethod> = z.infer<(typeof cascadeRequests)[M]['result']>;
export type CascadeHandler = <M extends CascadeMethod>(method: M, from: string, body: CascadeBody<M>) => Promise<CascadeResult<M>>;

const envelope = z.discriminatedUnion('type', [
	z.object({ type: z.literal('request'), id: id, from: id, method: z.enum(['open', 'pull', 'push', 'close', 'unpipe', 'paused', 'stop', 'roster', 'moderate', 'meeting', 'mirror', 'rehost']), body: z.unknown() }),
	z.object({ type: z.literal('reply'), id: id, ok: z.boolean(), result: z.unknown().optional(), error: z.string().max(1000).optional() }),
]);

export interface CascadeBusOptions {
	/** A connection for publishing (shared); the bus makes its own subscriber from it. */
	redis: Redis;
	nodeId: string;
	handle: CascadeHandler;
	timeoutMs?: number;
	log: Logger;
}

interface Pending {
	method: CascadeMethod;
	resolve: (value: unknown) => void;
	reject: (error: Error) => void;
	timer: NodeJS.Timeout;
}

export class CascadeBus {
	readonly #options: CascadeBusOptions;
	readonly #sub: Redis;
	readonly #pending = new Map<string, Pending>();
	#closed = false;

	private constructor(options: CascadeBusOptions, sub: Redis) {
		this.#options = options;
		this.#sub = sub;
		sub.on('message', (_channel: string, raw: string) => void this.#receive(raw));
	}

	static async create(options: CascadeBusOptions): Promise<CascadeBus> {
		const sub = options.redis.duplicate();
		sub.on('error', () => undefined); // the main connection logs Redis errors
		await sub.subscribe(channel(options.nodeId));
		return new CascadeBus(options, sub);
	}

	async request<M extends CascadeMethod>(node: string, method: M, body: CascadeBody<M>): Promise<CascadeResult<M>> {
		if (this.#closed) throw new Error('the cascade bus is closed');
		const requestId = randomUUID();
		const reply = new Promise<unknown>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(requestId);
				reject(new Error(`cascade: ${method} to ${node} unanswered`));
			}, this.#options.timeoutMs ?? 3000);
			timer.unref();
			this.#pending.set(requestId, { method, resolve, reject, timer });
		});
		const listeners = await this.#options.redis.publish(channel(node), JSON.stringify({ type: 'request', id: requestId, from: this.#options.nodeId, method, body }));
		if (listeners === 0) {
			this.#settle(requestId, new Error(`cascade: node ${node} is not listening`));
		}
		const result = await reply;
		return cascadeRequests[method].result.parse(result) as CascadeResult<M>;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const requestId of [...this.#pending.keys()]) this.#settle(requestId, new Error('the cascade bus is closed'));
		this.#sub.disconnect();
	}

	#settle(requestId: string, error: Error | null, result?: unknown): void {
		const pending = this.#pending.get(requestId);
		if (!pending) return;
		this.#pending.delete(requestId);
		clearTimeout(pending.timer);
		if (error) pending.reject(error);
		else pending.resolve(result);
	}

	async #receive(raw: string): Promise<void> {
		const { log, redis, nodeId, handle } = this.#options;
		let parsed: unknown;
		try {
			parsed = JSON.parse(raw);
		} catch {
			parsed = undefined;
		}
		const message = envelope.safeParse(parsed);
		if (!message.success) {
			log.warn({ issues: message.error.issues.slice(0, 3) }, 'cascade: malformed message dropped');
			return;
		}
		const m = message.data;
		if (m.type === 'reply') {
			this.#settle(m.id, m.ok ? null : new Error(m.error ?? 'cascade request failed'), m.result);
			return;
		}
		const answer = async (ok: boolean, payload: { result?: unknown; error?: string }): Promise<void> => {
			await redis.publish(channel(m.from), JSON.stringify({ type: 'reply', id: m.id, ok, ...payload })).catch(() => undefined);
		};
		const body = cascadeRequests[m.method].body.safeParse(m.body);
		if (!body.success) {
			log.warn({ from: m.from, method: m.method }, 'cascade: malformed request refused');
			return answer(false, { error: 'bad_request' });
		}
		try {
			const result = await handle(m.method, m.from, body.data as never);
			await answer(true, { result });
		} catch (error) {
			log.warn({ err: error, from: m.from, method: m.method, node: nodeId }, 'cascade: request failed');
			await answer(false, { error: error instanceof Error ? error.message.slice(0, 500) : 'failed' });
		}
	}
}

function channel(node: string): string {
	return `parley:cascade:${node}`;
}
