/**
 * What a publisher may send as a producer's RTP parameters, checked against the router's
 * capabilities and the declared kind before mediasoup sees them. mediasoup maps codecs
 * but does not tie them to the kind, and forwards codec parameters of any size into every
 * subscriber's answer: one bad producer would then break the receive connection of the
 * whole room. A producer must carry exactly what mediasoup-client sends:
 *
 *   - exactly one media codec, of the declared kind, that the router supports;
 *   - at most one RTX codec, tied to it (`apt`);
 *   - header extensions the router knows for that kind, ids unique;
 *   - bounded sizes everywhere (codec parameters, feedback, encodings, names);
 *   - SSRCs unique within the producer and not used by another producer of the peer.
 */
import type { types } from 'mediasoup';

/** Refused RTP parameters (a TypeError: answered as `bad_request`). */
export class RtpParametersError extends TypeError {
	constructor(message: string) {
		super(`invalid rtpParameters: ${message}`);
		this.name = 'RtpParametersError';
	}
}

export const RtpLimits = {
	/** Parameters of one codec or header extension. */
	parameterKeys: 16,
	parameterKeyLength: 64,
	parameterValueLength: 128,
	rtcpFeedback: 16,
	feedbackLength: 32,
	headerExtensions: 16,
	/** Simulcast: three layers in practice; four at most. */
	videoEncodings: 4,
	audioEncodings: 1,
	ridLength: 16,
	cnameLength: 64,
	midLength: 16,
} as const;

export interface RtpValidationContext {
	kind: 'audio' | 'video';
	/** The router's capabilities. */
	capabilities: types.RtpCapabilities;
	/** SSRCs already used by the peer's other producers. */
	usedSsrcs?: ReadonlySet<number>;
}

const fail = (message: string): never => {
	throw new RtpParametersError(message);
};

export function validateRtpParameters(params: types.RtpParameters, { kind, capabilities, usedSsrcs }: RtpValidationContext): void {
	if (params.mid !== undefined && (typeof params.mid !== 'string' || params.mid.length > RtpLimits.midLength)) {
		fail(`mid is at most ${RtpLimits.midLength} characters`);
	}
	const codecs = params.codecs ?? [];
	const payloadTypes = new Set<number>();
	for (const codec of codecs) {
		if (payloadTypes.has(codec.payloadType)) fail(`payload type ${codec.payloadType} used twice`);
		payloadTypes.add(codec.payloadType);
		checkParameters(codec.parameters, `codec ${codec.mimeType}`);
		checkFeedback(codec.rtcpFeedback);
	}
	const isRtx = (c: types.RtpCodecParameters): boolean => /\/rtx$/i.test(c.mimeType);
	const media = codecs.filter((c) => !isRtx(c));
	const rtx = codecs.filter(isRtx);
	if (media.length !== 1) fail(`exactly one media codec is allowed (got ${media.length})`);
	const codec = media[0]!;
	const [codecKind] = codec.mimeType.toLowerCase().split('/');
	if (codecKind !== kind) fail(`codec ${codec.mimeType} is not ${kind}`);
	const supported = (capabilities.codecs ?? []).some(
		(c) =>
			c.kind === kind &&
			c.mimeType.toLowerCase() === codec.mimeType.toLowerCase() &&
			c.clockRate === codec.clockRate &&
			(kind !== 'audio' || (c.channels ?? 1) === (codec.channels ?? 1)),
	);
	if (!supported) fail(`codec ${codec.mimeType}/${codec.clockRate} is not supported by this room`);
	if (rtx.length > 1) fail('at most one RTX codec');
	for (const r of rtx) {
		if (r.mimeType.toLowerCase() !== `${kind}/rtx`) fail(`RTX codec ${r.mimeType} is not ${kind}`);
		if (Number(r.parameters?.apt) !== codec.payloadType) fail(`RTX codec (apt) must point at the media codec ${codec.payloadType}`);
	}

	const extensions = params.headerExtensions ?? [];
	if (extensions.length > RtpLimits.headerExtensions) fail(`at most ${RtpLimits.headerExtensions} header extensions`);
	const ids = new Set<number>();
	const uris = new Set<string>();
	for (const ext of extensions) {
		const known = (capabilities.headerExtensions ?? []).some((h) => h.uri === ext.uri && (h.kind === kind || (h.kind as string) === ''));
		if (!known) fail(`header extension ${JSON.stringify(String(ext.uri).slice(0, 80))} is not supported for ${kind}`);
		if (ids.has(ext.id)) fail(`header extension id ${ext.id} used twice`);
		if (uris.has(ext.uri)) fail(`header extension ${ext.uri} listed twice`);
		if (ext.encrypt) fail('encrypted header extensions are not supported');
		ids.add(ext.id);
		uris.add(ext.uri);
		checkParameters(ext.parameters, `header extension ${ext.uri}`);
	}

	const encodings = params.encodings ?? [];
	const maxEncodings = kind === 'audio' ? RtpLimits.audioEncodings : RtpLimits.videoEncodings;
	if (encodings.length === 0 || encodings.length > maxEncodings) fail(`${kind} needs 1 to ${maxEncodings} encodings`);
	const ssrcs = new Set<number>();
	const rids = new Set<string>();
	const useSsrc = (ssrc: number): void => {
		if (ssrcs.has(ssrc) || usedSsrcs?.has(ssrc)) fail(`SSRC ${ssrc} is already used`);
		ssrcs.add(ssrc);
	};
	for (const e of encodings) {
		if (e.ssrc === undefined && e.rid === undefined) fail('each encoding needs an ssrc or a rid');
		if (e.ssrc !== undefined) useSsrc(e.ssrc);
		if (e.rtx?.ssrc !== undefined) {
			if (rtx.length === 0) fail('an encoding has an RTX ssrc but there is no RTX codec');
			useSsrc(e.rtx.ssrc);
		}
		if (e.rid !== undefined) {
			if (!/^[A-Za-z0-9_-]+$/.test(e.rid) || e.rid.length > RtpLimits.ridLength) fail(`rid must be 1-${RtpLimits.ridLength} of A-Z a-z 0-9 _ -`);
			if (rids.has(e.rid)) fail(`rid ${e.rid} used twice`);
			rids.add(e.rid);
		}
		if (e.codecPayloadType !== undefined && e.codecPayloadType !== codec.payloadType) fail('an encoding names another codec');
		if (e.scalabilityMode !== undefined && !/^[LS][1-3]T[1-3](_KEY(_SHIFT)?)?h?$/.test(e.scalabilityMode)) {
			fail(`scalabilityMode ${JSON.stringify(e.scalabilityMode)} is not supported`);
		}
	}
	const cname = params.rtcp?.cname;
	if (cname !== undefined && (typeof cname !== 'string' || cname.length > RtpLimits.cnameLength)) {
		fail(`rtcp.cname is at most ${RtpLimits.cnameLength} characters`);
	}
}

/** The SSRCs (media and RTX) a producer's parameters use. */
export function ssrcsOf(params: types.RtpParameters): number[] {
	const out: number[] = [];
	for (const e of params.encodings ?? []) {
		if (e.ssrc !== undefined) out.push(e.ssrc);
		if (e.rtx?.ssrc !== undefined) out.push(e.rtx.ssrc);
	}
	return out;
}

function checkParameters(parameters: unknown, where: string): void {
	if (parameters === undefined) return;
	if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) fail(`${where}: parameters must be an object`);
	const entries = Object.entries(parameters as Record<string, unknown>);
	if (entries.length > RtpLimits.parameterKeys) fail(`${where}: at most ${RtpLimits.parameterKeys} parameters`);
	for (const [key, value] of entries) {
		if (key.length > RtpLimits.parameterKeyLength) fail(`${where}: parameter names are at most ${RtpLimits.parameterKeyLength} characters`);
		const ok =
			(typeof value === 'number' && Number.isFinite(value)) ||
			typeof value === 'boolean' ||
			(typeof value === 'string' && value.length <= RtpLimits.parameterValueLength);
		if (!ok) fail(`${where}: parameter ${key.slice(0, 64)} must be a number, a boolean or a string of at most ${RtpLimits.parameterValueLength} characters`);
	}
}

function checkFeedback(feedback: types.RtcpFeedback[] | undefined): void {
	if (feedback === undefined) return;
	if (feedback.length > RtpLimits.rtcpFeedback) fail(`at most ${RtpLimits.rtcpFeedback} rtcpFeedback entries`);
	for (const fb of feedback) {
		if (String(fb.type).length > RtpLimits.feedbackLength || String(fb.parameter ?? '').length > RtpLimits.feedbackLength) {
			fail(`rtcpFeedback entries are at most ${RtpLimits.feedbackLength} characters`);
		}
	}
}
