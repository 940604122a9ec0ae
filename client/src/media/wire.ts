/**
 * The protocol carries WebRTC parameter objects in its own wire types (validated by zod
 * on the server). mediasoup-client declares the same JSON with narrower literal unions and
 * checks every object in depth when it is used (Device.load, createTransport, consume),
 * so this is the one place where the wire objects are handed over as its types.
 */
import type { types as msc } from 'mediasoup-client';
import type {
	DtlsParameters,
	RtpCapabilities,
	RtpParameters,
	TransportOptions,
} from '../../../signaling/protocol/index.ts';

export const wire = {
	rtpCapabilities: (c: RtpCapabilities): msc.RtpCapabilities => c as unknown as msc.RtpCapabilities,
	rtpParameters: (p: RtpParameters): msc.RtpParameters => p as unknown as msc.RtpParameters,
	dtlsParameters: (p: DtlsParameters): msc.DtlsParameters => p as unknown as msc.DtlsParameters,
	transportOptions: (t: TransportOptions): Pick<msc.TransportOptions, 'id' | 'iceParameters' | 'iceCandidates' | 'dtlsParameters'> => ({
		id: t.id,
		iceParameters: t.iceParameters,
		iceCandidates: t.iceCandidates as msc.IceCandidate[],
		dtlsParameters: wire.dtlsParameters(t.dtlsParameters),
	}),
};
