/** Bodies of the HTTP API (validated at the edge like the socket events). */
import { z } from 'zod';
import { DisplayNameSchema, IdentitySchema, RoomNameSchema } from './identifiers.ts';
import { DtlsParametersSchema, IdSchema, RtpCapabilitiesSchema, type RtpCapabilities, type RtpParameters, type SctpStreamParameters } from './media.ts';
import type { TransportOptions } from './requests.ts';

/** GET /api/info: what the lobby needs before anyone joins. */
export interface ServerInfoResponse {
	dev: boolean;
	publicUrl: string | undefined;
	/** The media routers' RTP capabilities (the same for every room): the lobby loads its Device from them. */
	rtpCapabilities?: RtpCapabilities;
}

/** POST /api/dev/token (dev mode only). */
export const DevTokenRequestSchema = z.strictObject({
	room: RoomNameSchema,
	name: DisplayNameSchema,
	identity: IdentitySchema.optional(),
});
export type DevTokenRequest = z.infer<typeof DevTokenRequestSchema>;
export interface DevTokenResponse {
	token: string;
	identity: string;
	room: string;
	expiresAt: number;
}

/** The role an invitation gives: the join token's `role` claim (co-hosts are made in the call, not by links). */
export const InviteRoleSchema = z.enum(['participant', 'host']);
export type InviteRole = z.infer<typeof InviteRoleSchema>;

/** Why a link does not work, for the lobby to say in plain words. */
export type LinkProblem =
	| 'missing'
	| 'malformed'
	| 'expired'
	| 'revoked'
	| 'bad_signature'
	| 'wrong_audience'
	| 'wrong_issuer'
	| 'bad_claims'
	| 'lifetime_too_long';

/** POST /api/links/check: is this join token or invitation good here? (No secret is revealed; the answer is what joining would say.) */
export const LinkCheckRequestSchema = z.union([
	z.strictObject({ token: z.string().min(1).max(4096) }),
	z.strictObject({ invite: z.string().min(1).max(4096) }),
]);
export type LinkCheckRequest = z.infer<typeof LinkCheckRequestSchema>;
export type LinkCheckResponse =
	| { valid: true; kind: 'token' | 'invite'; room: string; name: string | null; role: InviteRole | null; expiresAt: number }
	| { valid: false; kind: 'token' | 'invite'; reason: LinkProblem; message: string };

/** POST /api/invites (Authorization: Bearer <a host's join token>). */
export const InviteCreateRequestSchema = z.strictObject({
	role: InviteRoleSchema.default('participant'),
	/** Lifetime; default one day, at most 30 days (and never beyond auth.tokenTtlSeconds × 4). */
	ttlSeconds: z.number().int().min(60).max(30 * 86400).optional(),
});
export type InviteCreateRequest = z.input<typeof InviteCreateRequestSchema>;

export interface InviteInfo {
	id: string;
	room: string;
	role: InviteRole;
	createdBy: string;
	createdAt: number;
	expiresAt: number;
	revoked: boolean;
}
export interface InviteCreateResponse extends InviteInfo {
	invite: string;
	/** The link to share: <publicUrl>/r/<room>?invite=<invite>. */
	url: string;
}
export interface InviteListResponse {
	invites: InviteInfo[];
}

/** POST /api/invites/redeem: an invitation and a display name for one's own join token. */
export const InviteRedeemRequestSchema = z.strictObject({
	invite: z.string().min(1).max(4096),
	name: DisplayNameSchema,
});
export type InviteRedeemRequest = z.infer<typeof InviteRedeemRequestSchema>;
export interface InviteRedeemResponse {
	token: string;
	identity: string;
	room: string;
	role: InviteRole;
	expiresAt: number;
}

/**
 * POST /api/media/prepare (Bearer join token): a receive transport opened while the person is
 * in the lobby, with a data channel (`probe`) whose negotiation gets ICE and DTLS going; Join
 * then sends its id with room:join. 204 (no body) when there is nothing to prepare (nobody in
 * the meeting yet, or a cluster, where the join may land on another node).
 */
export interface MediaPrepareResponse {
	transport: TransportOptions;
	probe: { id: string; dataProducerId: string; sctpStreamParameters: SctpStreamParameters; label: string; protocol: string };
	/**
	 * Asked for with the lobby's `rtpCapabilities` (and the person would go straight in: no
	 * lock, no waiting room): paused consumers of the meeting's media on this transport, for the
	 * browser to negotiate now. room:join resumes them (ConsumerOptions `resumed`).
	 */
	consumers?: PreparedConsumerOptions[];
	/** Closed after this long if no join took it (ms). */
	expiresInMs: number;
}

/** POST /api/media/prepare body (optional): the lobby Device's receive capabilities, to prepare consumers too. */
export const MediaPrepareRequestSchema = z.strictObject({ rtpCapabilities: RtpCapabilitiesSchema.optional() });
export type MediaPrepareRequest = z.infer<typeof MediaPrepareRequestSchema>;

/**
 * A consumer prepared in the lobby. Whose media it is stays unsaid until the join (the lobby is
 * not in the meeting yet): `streamGroup` only tells which of them belong together (one person's
 * camera and microphone: the browser syncs their playout).
 */
export interface PreparedConsumerOptions {
	id: string;
	producerId: string;
	kind: 'audio' | 'video';
	rtpParameters: RtpParameters;
	streamGroup: string;
}

/** POST /api/media/prepare/connect: the browser's DTLS parameters for a prepared transport. */
export const MediaPrepareConnectSchema = z.strictObject({ transportId: IdSchema, dtlsParameters: DtlsParametersSchema });
export type MediaPrepareConnectRequest = z.infer<typeof MediaPrepareConnectSchema>;

/** POST /api/media/prepare/release: the lobby is left without joining; its prepared transport is of no use. */
export const MediaPrepareReleaseSchema = z.strictObject({ transportId: IdSchema });
export type MediaPrepareReleaseRequest = z.infer<typeof MediaPrepareReleaseSchema>;
