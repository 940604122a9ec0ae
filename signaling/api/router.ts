/**
 * The integrator API (like LiveKit's RoomService), under /api/server: list rooms and
 * participants, remove, mute a track, update grants, end a room, mint a join token.
 * Every request is signed with an API key's secret (see signature.ts); bodies are
 * validated with zod; errors are `{ error: { code, message } }` with a matching status.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import { mintToken, type Grants } from '../auth/tokens.ts';
import type { MeetingControl } from '../meeting/MeetingControl.ts';
import type { MeetingRegistry } from '../meeting/MeetingRegistry.ts';
import {
	DisplayNameSchema,
	ErrorCode,
	IdentitySchema,
	MediaSourceSchema,
	ModeratedSourceSchema,
	ProtocolError,
	RoomNameSchema,
	type ErrorCode as Code,
} from '../protocol/index.ts';
import { describeZodError, toErrorBody } from '../rpc.ts';
import type { SessionRegistry } from '../session.ts';
import type { RecordingService } from '../recording/RecordingService.ts';
import { ApiHeaders, checkApiSignature } from './signature.ts';

export interface ServerApiDeps {
	config: Config;
	sfu: Sfu;
	meetings: MeetingRegistry;
	sessions: SessionRegistry;
	control: MeetingControl;
	recordings: RecordingService;
}

const STATUS: Partial<Record<Code, number>> = {
	bad_request: 400,
	unauthorized: 401,
	forbidden: 403,
	not_found: 404,
	invalid_state: 409,
	rate_limited: 429,
	limit_exceeded: 507,
	unavailable: 503,
};

export const MuteBodySchema = z.strictObject({ source: ModeratedSourceSchema });
/** Grants to change (no defaults: what is not given stays as it is). */
const GrantsPatchSchema = z.strictObject({
	publish: z.boolean().optional(),
	publishSources: z.array(MediaSourceSchema).optional(),
	subscribe: z.boolean().optional(),
	chat: z.boolean().optional(),
	skipWaitingRoom: z.boolean().optional(),
	recordable: z.boolean().optional(),
});
export const GrantsBodySchema = z.strictObject({
	grants: GrantsPatchSchema.refine((g) => Object.values(g).some((v) => v !== undefined), 'give at least one grant'),
});
export const TokenBodySchema = z.strictObject({
	room: RoomNameSchema,
	identity: IdentitySchema.optional(),
	name: DisplayNameSchema,
	role: z.enum(['host', 'participant']).optional(),
	grants: GrantsPatchSchema.optional(),
	ttlSeconds: z.number().int().min(60).optional(),
});

type RawRequest = Request & { rawBody?: string };

export interface ApiRoom {
	room: string;
	participants: number;
	waiting: number;
	createdAt: number;
	settings: { locked: boolean; waitingRoom: boolean; allowSelfUnmute: boolean } | null;
}

export interface ApiParticipant {
	identity: string;
	name: string;
	role: string;
	handRaisedAt: number | null;
	/** In the media room (not only connected to the meeting). */
	inMedia: boolean;
	tracks: { id: string; kind: string; source: string; paused: boolean }[];
}

/** Fill `router` (mounted early, at /api/server) once the meeting services exist. */
export function mountServerApi(router: Router, deps: ServerApiDeps): void {
	const { config, sfu, meetings, sessions, control, recordings } = deps;
	const keys = new Map(config.api.keys.map((k) => [k.key, k.secret]));

	router.use(
		express.json({
			limit: '16kb',
			verify: (req, _res, buf) => {
				(req as RawRequest).rawBody = buf.toString('utf8');
			},
		}),
	);

	router.use((req: RawRequest, res: Response, next: NextFunction) => {
		if (keys.size === 0) return fail(res, ErrorCode.Unauthorized, 'the server API is off: no API keys configured (PARLEY_API_KEYS)');
		const check = checkApiSignature(
			keys,
			{
				key: req.header(ApiHeaders.key),
				timestamp: req.header(ApiHeaders.timestamp),
				signature: req.header(ApiHeaders.signature),
			},
			req.method,
			req.originalUrl,
			req.rawBody ?? '',
		);
		if (!check.ok) {
			req.log.info({ reason: check.message }, 'server API request refused');
			return fail(res, ErrorCode.Unauthorized, check.message);
		}
		req.log.info({ apiKey: check.key }, 'server API request');
		next();
	});

	const room = (req: Request): string => parse(RoomNameSchema, req.params.room, 'room');
	const identity = (req: Request): string => parse(IdentitySchema, req.params.identity, 'identity');

	router.get('/rooms', (_req, res) => {
		const names = new Set([...meetings.all.keys(), ...sfu.rooms.keys()]);
		const rooms: ApiRoom[] = [...names].sort().map((name) => {
			const meeting = meetings.get(name);
			return {
				room: name,
				participants: meeting?.members().length ?? sfu.rooms.get(name)?.peers.size ?? 0,
				waiting: meeting?.waitingList().length ?? 0,
				createdAt: meeting?.createdAt ?? 0,
				settings: meeting ? { ...meeting.settings } : null,
			};
		});
		res.json({ rooms });
	});

	router.get('/rooms/:room/participants', (req, res) => {
		const name = room(req);
		const meeting = meetings.get(name);
		if (!meeting) throw new ProtocolError(ErrorCode.NotFound, `no room ${name}`);
		const hands = new Map(meeting.state().hands.map((h) => [h.identity, h.raisedAt]));
		const participants: ApiParticipant[] = meeting.members().map((m) => {
			const peer = sessions.get(name, m.identity)?.peer;
			return {
				identity: m.identity,
				name: m.name,
				role: m.role,
				handRaisedAt: hands.get(m.identity) ?? null,
				inMedia: Boolean(peer && !peer.closed),
				tracks: peer
					? [...peer.producers.values()].map((p) => ({ id: p.id, kind: p.kind, source: p.appData.source, paused: p.paused }))
					: [],
			};
		});
		res.json({ participants, waiting: meeting.waitingList() });
	});

	router.post('/rooms/:room/participants/:identity/remove', async (req, res) => {
		const name = room(req);
		await control.remove(name, meetings.get(name), identity(req), 'api', { operator: true });
		res.json({});
	});

	router.post('/rooms/:room/participants/:identity/mute', async (req, res) => {
		const name = room(req);
		const { source } = parse(MuteBodySchema, req.body, 'body');
		const meeting = meetings.get(name);
		if (!meeting) throw new ProtocolError(ErrorCode.NotFound, `no room ${name}`);
		res.json({ affected: await control.mute(meeting, identity(req), source, 'the server') });
	});

	router.post('/rooms/:room/participants/:identity/grants', async (req, res) => {
		const name = room(req);
		const { grants } = parse(GrantsBodySchema, req.body, 'body');
		const who = identity(req);
		if (!meetings.get(name)?.isMember(who)) throw new ProtocolError(ErrorCode.NotFound, `no participant ${who} in ${name}`);
		const updated = await control.updateGrants(name, who, definedOnly(grants));
		// A participant who may no longer be recorded stops being recorded at once (and the reverse).
		if (grants.recordable !== undefined) recordings.refresh(name);
		res.json({ sessions: updated });
	});

	router.get('/rooms/:room/recording', (req, res) => {
		res.json({ recording: recordings.state(room(req)) });
	});

	router.post('/rooms/:room/recording/start', async (req, res) => {
		res.json({ recording: await recordings.start(room(req), 'api') });
	});

	router.post('/rooms/:room/recording/stop', (req, res) => {
		const name = room(req);
		if (!recordings.state(name).active) throw new ProtocolError(ErrorCode.InvalidState, `${name} is not being recorded`);
		void recordings.stop(name, 'api');
		res.json({ recording: recordings.state(name) });
	});

	router.get('/rooms/:room/recordings', async (req, res) => {
		res.json({ recordings: await recordings.store.list(room(req)) });
	});

	router.post('/rooms/:room/end', (req, res) => {
		const name = room(req);
		if (!meetings.get(name) && !sfu.rooms.get(name)) throw new ProtocolError(ErrorCode.NotFound, `no room ${name}`);
		control.end(name, meetings.get(name), 'api');
		res.json({});
	});

	router.post('/tokens', (req, res) => {
		const body = parse(TokenBodySchema, req.body, 'body');
		const ttl = Math.min(body.ttlSeconds ?? config.auth.tokenTtlSeconds, config.auth.maxTokenLifetimeSeconds);
		const minted = mintToken(config.auth, {
			room: body.room,
			name: body.name,
			...(body.identity ? { identity: body.identity } : {}),
			...(body.role ? { role: body.role } : {}),
			...(body.grants ? { grants: definedOnly(body.grants) } : {}),
			ttlSeconds: ttl,
		});
		res.json({ ...minted, room: body.room });
	});

	router.use((_req: Request, res: Response) => fail(res, ErrorCode.NotFound, 'no such endpoint'));
	router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
		const status = (error as { status?: unknown }).status;
		if (typeof status === 'number' && status >= 400 && status < 500) {
			return fail(res, ErrorCode.BadRequest, (error as Error).message || 'bad request');
		}
		const body = toErrorBody(error);
		if (body.code === ErrorCode.Internal) req.log.error({ err: error }, 'server API request failed');
		fail(res, body.code, body.message);
	});
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
	const parsed = schema.safeParse(value);
	if (!parsed.success) throw new ProtocolError(ErrorCode.BadRequest, `${what}: ${describeZodError(parsed.error)}`);
	return parsed.data;
}

function definedOnly(patch: z.output<typeof GrantsPatchSchema>): Partial<Grants> {
	return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<Grants>;
}

function fail(res: Response, code: Code, message: string): void {
	res.status(STATUS[code] ?? 500).json({ error: { code, message } });
}
