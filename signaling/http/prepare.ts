/**
 * Preparing the media connection while the person is in the lobby (what LiveKit calls
 * "prepare connection"): a receive transport whose ICE and DTLS are done before Join is
 * clicked, so the join only adds consumers to a connected transport.
 *
 *   POST /api/media/prepare           Bearer <join token>, optional { rtpCapabilities } (then
 *                                     also paused consumers of the meeting's media, for someone
 *                                     who would go straight in) → MediaPrepareResponse, or 204
 *                                     when there is nothing to prepare (nobody in the
 *                                     meeting yet, or a cluster: the join may land elsewhere)
 *   POST /api/media/prepare/connect   Bearer <join token>, { transportId, dtlsParameters } → 204
 *   POST /api/media/prepare/release   Bearer <join token>, { transportId } → 204 (the lobby was
 *                                     left without joining: closed, if it is still untaken)
 *
 * Over HTTP, not the meeting's socket: connecting that socket is arriving in the meeting
 * (presence, the waiting room), which the lobby must not do. Bounded per identity (one, the
 * newest) and per node (PreparedReceives), rate limited like requests, closed after a while,
 * when released, or when the browser's connection goes (sfu PreparedReceive).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { InvalidStateError, type PreparedReceive, type Sfu } from '../../sfu/index.ts';
import { AuthError, verifyToken, type TokenClaims } from '../auth/tokens.ts';
import type { RevocationList } from '../auth/Revocations.ts';
import { ErrorCode, MediaPrepareConnectSchema, MediaPrepareReleaseSchema, MediaPrepareRequestSchema, type MediaPrepareResponse, type PreparedConsumerOptions } from '../protocol/index.ts';
import type { PreparedReceives } from '../prepare/PreparedReceives.ts';
import { describeZodError } from '../rpc.ts';
import { transportOptions } from '../handlers/wire.ts';
import { turnIceServers } from '../turn/credentials.ts';
import { bearerToken, sendError } from './routes.ts';

export interface PrepareRouterOptions {
	config: Pick<Config, 'auth' | 'turn'>;
	sfu: Pick<Sfu, 'rooms'>;
	prepared: PreparedReceives;
	revocations: Pick<RevocationList, 'isRevoked'>;
	/** False in a cluster: the join may land on another node than the one that prepared. */
	enabled: boolean;
	/** One more request of this participant (`room:identity`) from this address; false: over the rate. */
	limit: (who: string, address: string) => Promise<boolean>;
	/** Consumers prepared per lobby at most (default 24). */
	maxConsumers?: number;
	/** Whether this token's holder would go straight into the meeting now (no lock, no waiting room): only then are consumers prepared. */
	admitsDirectly: (claims: TokenClaims) => boolean;
	/** The client's address (behind a trusted proxy, the hop it added). */
	address: (req: Request) => string;
	logger: Logger;
}

/** Consumers prepared per lobby at most (the first people's media; the join consumes the rest). */
const PREPARED_CONSUMERS_MAX = 24;

/** The prepared consumers for the lobby, grouped by person without saying who. */
function preparedConsumerOptions(receive: PreparedReceive): PreparedConsumerOptions[] {
	const groups = new Map<string, string>();
	return receive.consumers.map(({ consumer, producer }) => {
		const key = `${producer.appData.peerId}\u0000${producer.appData.source.startsWith('screen') ? 'screen' : 'user'}`;
		let group = groups.get(key);
		if (!group) groups.set(key, (group = `g${groups.size}`));
		return { id: consumer.id, producerId: producer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters, streamGroup: group };
	});
}

export function prepareRouter(options: PrepareRouterOptions): Router {
	const { config, sfu, prepared, revocations, logger } = options;
	const router = express.Router();
	const json = express.json({ limit: '8kb' });
	// A browser's receive capabilities are 2-6 kB.
	const prepareJson = express.json({ limit: '32kb' });

	/** The verified claims of the bearer token, or null with the refusal sent. */
	const authorize = async (req: Request, res: Response): Promise<TokenClaims | null> => {
		let claims: TokenClaims;
		try {
			claims = verifyToken(config.auth, bearerToken(req.get('authorization')));
		} catch (error) {
			if (!(error instanceof AuthError)) throw error;
			sendError(res, 401, ErrorCode.Unauthorized, error.message);
			return null;
		}
		if (await revocations.isRevoked(claims.room, claims.sub, claims.iat)) {
			sendError(res, 401, ErrorCode.Unauthorized, 'this participant was removed from the room');
			return null;
		}
		if (!claims.grants.subscribe) {
			sendError(res, 403, ErrorCode.Forbidden, 'this token may not receive media');
			return null;
		}
		if (!(await options.limit(`${claims.room}:${claims.sub}`, options.address(req)))) {
			sendError(res, 429, ErrorCode.RateLimited, 'too many requests');
			return null;
		}
		return claims;
	};

	router.post('/api/media/prepare', prepareJson, async (req: Request, res: Response) => {
		// No body (an older page): the transport only.
		const valid = await authorizeWith(MediaPrepareRequestSchema, req, res);
		if (!valid) return;
		const { claims, body: request } = valid;
		const room = sfu.rooms.get(claims.room);
		if (!options.enabled || !room || room.closed || room.peers.size === 0) {
			res.status(204).end();
			return;
		}
		const address = options.address(req);
		if (!prepared.hasRoomFor(claims.room, claims.sub, address)) {
			sendError(res, 429, ErrorCode.LimitExceeded, 'too many connections are being prepared: join without');
			return;
		}
		let receive;
		try {
			// The meeting's media only for someone who would go straight in (no lock, no waiting room).
			const consume = request.rtpCapabilities && options.admitsDirectly(claims)
				? { identity: claims.sub, rtpCapabilities: request.rtpCapabilities as types.RtpCapabilities, max: options.maxConsumers ?? PREPARED_CONSUMERS_MAX }
				: undefined;
			receive = await room.prepareReceive(consume);
			prepared.add(claims.room, claims.sub, address, receive);
		} catch (error) {
			// The room closed meanwhile, its worker went, or the cap was reached: the join does without.
			logger.info({ err: error, roomId: claims.room, peerId: claims.sub }, 'could not prepare a receive transport');
			if (error instanceof InvalidStateError) res.status(204).end();
			else sendError(res, 503, ErrorCode.Unavailable, 'could not prepare the media connection: join without');
			return;
		}
		const { transport, dataConsumer } = receive;
		const sctp = transport.sctpParameters;
		const body: MediaPrepareResponse = {
			transport: {
				...transportOptions(transport, turnIceServers(config.turn, claims.sub)),
				...(sctp ? { sctpParameters: { port: sctp.port, maxSendMessageSize: sctp.maxSendMessageSize, maxReceiveMessageSize: sctp.maxReceiveMessageSize, OS: sctp.OS, MIS: sctp.MIS, maxMessageSize: sctp.maxMessageSize } } : {}),
			},
			probe: {
				id: dataConsumer.id,
				dataProducerId: dataConsumer.dataProducerId,
				sctpStreamParameters: dataConsumer.sctpStreamParameters ?? { streamId: 0 },
				label: dataConsumer.label,
				protocol: dataConsumer.protocol,
			},
			expiresInMs: prepared.ttlMs,
		};
		if (receive.consumers.length) body.consumers = preparedConsumerOptions(receive);
		logger.debug({ roomId: claims.room, peerId: claims.sub, transportId: transport.id, consumers: receive.consumers.length }, 'receive transport prepared');
		res.json(body);
	});

	/** The verified claims and the body, valid by `schema`, or null with the refusal sent. */
	const authorizeWith = async <T>(schema: z.ZodType<T>, req: Request, res: Response): Promise<{ claims: TokenClaims; body: T } | null> => {
		const claims = await authorize(req, res);
		if (!claims) return null;
		// No JSON body at all reads as {} (a route whose fields are all optional takes it).
		const parsed = schema.safeParse(req.body ?? {});
		if (parsed.success) return { claims, body: parsed.data };
		sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
		return null;
	};

	router.post('/api/media/prepare/connect', json, async (req: Request, res: Response) => {
		const valid = await authorizeWith(MediaPrepareConnectSchema, req, res);
		if (!valid) return;
		const { claims, body: parsed } = valid;
		const receive = prepared.find(claims.room, claims.sub, parsed.transportId);
		if (!receive) {
			sendError(res, 404, ErrorCode.NotFound, 'no such prepared transport (expired, or replaced by a newer one)');
			return;
		}
		try {
			// mediasoup checks the fingerprints' algorithms in depth.
			await receive.connect(parsed.dtlsParameters as types.DtlsParameters);
		} catch (error) {
			if (!(error instanceof InvalidStateError)) throw error;
			sendError(res, 409, ErrorCode.InvalidState, error.message);
			return;
		}
		res.status(204).end();
	});

	// Sent with `keepalive` as the lobby page goes: answered the same whether or not there was one to close.
	router.post('/api/media/prepare/release', json, async (req: Request, res: Response) => {
		const valid = await authorizeWith(MediaPrepareReleaseSchema, req, res);
		if (!valid) return;
		const { claims, body } = valid;
		const receive = prepared.find(claims.room, claims.sub, body.transportId);
		if (receive && !receive.done) {
			logger.debug({ roomId: claims.room, peerId: claims.sub, transportId: body.transportId }, 'prepared receive transport released by its lobby');
			receive.close();
		}
		res.status(204).end();
	});

	return router;
}
