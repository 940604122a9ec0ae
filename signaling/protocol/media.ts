/**
 * zod schemas for the WebRTC parameter objects that cross the wire. They check the
 * shape at the edge; mediasoup checks the semantics (and throws TypeError, which the
 * handlers turn into `bad_request`).
 */
import { z } from 'zod';

const Id = z.string().min(1).max(128);
// Codec and header-extension parameters are free-form in the specs; mediasoup checks what it uses.
// Values must be flat (string ≤ 256, number, boolean) and few: no nested or bloated objects.
const Params = z
	.record(z.string().max(64), z.unknown())
	.refine((p) => Object.keys(p).length <= 32, 'at most 32 parameters')
	.refine(
		(p) =>
			Object.values(p).every(
				(v) => typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 256),
			),
		'parameter values are numbers, booleans or strings of at most 256 characters',
	);

const RtcpFeedback = z.object({ type: z.string().max(64), parameter: z.string().max(64).optional() });

export const RtpCodecCapabilitySchema = z.object({
	kind: z.enum(['audio', 'video']),
	mimeType: z.string().min(3).max(64),
	preferredPayloadType: z.number().int().min(0).max(127).optional(),
	clockRate: z.number().int().positive(),
	channels: z.number().int().positive().max(8).optional(),
	parameters: Params.optional(),
	rtcpFeedback: z.array(RtcpFeedback).max(32).optional(),
});

const HeaderExtensionCapability = z.object({
	kind: z.enum(['audio', 'video']),
	uri: z.string().max(256),
	preferredId: z.number().int().min(1).max(255),
	preferredEncrypt: z.boolean().optional(),
	direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
});

export const RtpCapabilitiesSchema = z.object({
	codecs: z.array(RtpCodecCapabilitySchema).max(64).optional(),
	headerExtensions: z.array(HeaderExtensionCapability).max(64).optional(),
});

const RtpCodecParameters = z.object({
	mimeType: z.string().min(3).max(64),
	payloadType: z.number().int().min(0).max(127),
	clockRate: z.number().int().positive(),
	channels: z.number().int().positive().max(8).optional(),
	parameters: Params.optional(),
	rtcpFeedback: z.array(RtcpFeedback).max(32).optional(),
});

const RtpEncodingParameters = z.object({
	ssrc: z.number().int().nonnegative().optional(),
	rid: z.string().max(32).optional(),
	codecPayloadType: z.number().int().optional(),
	rtx: z.object({ ssrc: z.number().int().nonnegative() }).optional(),
	dtx: z.boolean().optional(),
	scalabilityMode: z.string().max(16).optional(),
	scaleResolutionDownBy: z.number().positive().optional(),
	maxBitrate: z.number().positive().optional(),
	maxFramerate: z.number().positive().optional(),
	active: z.boolean().optional(),
});

export const RtpParametersSchema = z.object({
	mid: z.string().max(32).optional(),
	codecs: z.array(RtpCodecParameters).min(1).max(32),
	headerExtensions: z
		.array(
			z.object({
				uri: z.string().max(256),
				id: z.number().int().min(1).max(255),
				encrypt: z.boolean().optional(),
				parameters: Params.optional(),
			}),
		)
		.max(32)
		.optional(),
	encodings: z.array(RtpEncodingParameters).max(8).optional(),
	rtcp: z.object({ cname: z.string().max(256).optional(), reducedSize: z.boolean().optional() }).optional(),
	msid: z.string().max(128).optional(),
});

export const DtlsParametersSchema = z.object({
	role: z.enum(['auto', 'client', 'server']).optional(),
	fingerprints: z
		.array(z.object({ algorithm: z.string().max(32), value: z.string().max(256) }))
		.min(1)
		.max(8),
});

export const MediaKindSchema = z.enum(['audio', 'video']);
/** What a producer carries, from the user's point of view. */
export const MediaSourceSchema = z.enum(['camera', 'microphone', 'screen', 'screen-audio']);
export type MediaSource = z.infer<typeof MediaSourceSchema>;
export type MediaKind = z.infer<typeof MediaKindSchema>;

/*
 * The wire types of the WebRTC parameter objects: what the schemas above accept. They
 * are the protocol's own (neither mediasoup's nor mediasoup-client's types): the server's
 * mediasoup objects fit them as they are, and the client hands them to mediasoup-client,
 * which checks them in depth (client/src/media/wire.ts).
 */
export type RtpCapabilities = z.output<typeof RtpCapabilitiesSchema>;
export type RtpParameters = z.output<typeof RtpParametersSchema>;
export type DtlsParameters = z.output<typeof DtlsParametersSchema>;

/** A transport's SCTP association (data channels): only a prepared receive transport has one. */
export interface SctpParameters {
	port: number;
	maxSendMessageSize: number;
	maxReceiveMessageSize: number;
	OS: number;
	MIS: number;
	maxMessageSize: number;
}

/** A data channel's SCTP stream (what mediasoup-client's consumeData needs). */
export interface SctpStreamParameters {
	streamId: number;
	ordered?: boolean;
	maxPacketLifeTime?: number;
	maxRetransmits?: number;
}

export interface IceParameters {
	usernameFragment: string;
	password: string;
	iceLite?: boolean;
}

export interface IceCandidate {
	foundation: string;
	priority: number;
	address: string;
	ip?: string;
	protocol: 'udp' | 'tcp';
	port: number;
	type: 'host' | 'srflx' | 'prflx' | 'relay';
	tcpType?: 'active' | 'passive' | 'so';
}

export { Id as IdSchema };
