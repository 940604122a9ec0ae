/**
 * mediasoup (server) and mediasoup-client describe the same JSON objects with slightly
 * different literal unions (e.g. the header-extension URIs each knows). The protocol
 * uses mediasoup-client's types, which the browser consumes; this is the one place
 * where the server's objects are declared as those wire types.
 */
import type { types } from 'mediasoup';
import type { types as msc } from 'mediasoup-client';

export const wire = {
	rtpCapabilities: (c: types.RtpCapabilities): msc.RtpCapabilities => c as unknown as msc.RtpCapabilities,
	rtpParameters: (p: types.RtpParameters): msc.RtpParameters => p as unknown as msc.RtpParameters,
};
