/**
 * Entering the room with a loaded mediasoup-client Device: the router capabilities and
 * room:join. The join asks for the receive side too (`receive`): the answer brings the
 * receive transport and the consumers of everyone here, so the first frames wait for no
 * further round trip.
 */
import type { Device } from 'mediasoup-client';
import type { ResponseData } from '../../../signaling/protocol/index.ts';
import { loadDevice, preloadedDevice } from './device.ts';
import { mark } from './marks.ts';
import type { PreparedReceive } from './preparedReceive.ts';
import type { SignalingSession } from './SignalingSession.ts';
import { wire } from './wire.ts';

export interface Joined {
	device: Device;
	joinAnswer: ResponseData<'room:join'>;
}

/**
 * With a Device already loaded from the capabilities this server sent before (the usual
 * case, see preloadDevice), both requests go out together, saving a round trip; if the
 * capabilities turn out to have changed, join again with a fresh Device (the second join
 * replaces the first on the server).
 */
/**
 * Whether room:join asks for the receive side (the answer brings the receive transport and
 * the consumers of everyone here: two round trips fewer, 0.2-0.4 s on a loaded machine).
 * It was off for a while: a remote tile stayed black now and then with it, which fits a
 * server bug fixed since (a transport whose ICE finished before its connect request was
 * refused the connect, and never connected).
 */
const JOIN_WITH_RECEIVE = true;

/** `prepared`: the receive transport prepared in the lobby, named in the join if it was made with the Device used. */
export async function joinWithDevice(s: SignalingSession, prepared: PreparedReceive | null = null): Promise<Joined> {
	const join = (device: Device, receive = JOIN_WITH_RECEIVE): Promise<ResponseData<'room:join'>> =>
		s.request('room:join', {
			rtpCapabilities: device.recvRtpCapabilities,
			receive,
			pushConsumers: true,
			...(receive && prepared?.device === device ? { prepared: prepared.transport.id } : {}),
		});
	const preloaded = await preloadedDevice();
	if (preloaded) {
		const capabilities = s.request('media:getRouterRtpCapabilities', {});
		const joining = join(preloaded.device);
		joining.catch(() => {});
		const { rtpCapabilities } = await capabilities;
		if (JSON.stringify(rtpCapabilities) === preloaded.key) {
			mark('device-loaded');
			return { device: preloaded.device, joinAnswer: await joining };
		}
		mark('capabilities-changed');
		await joining.catch(() => {});
		const device = await loadDevice(wire.rtpCapabilities(rtpCapabilities));
		mark('device-loaded');
		// Rare (a server upgrade): the receive side is set up by requests, as before, rather than
		// closing the first answer's consumers and making new ones in the same moment.
		return { device, joinAnswer: await join(device, false) };
	}
	const { rtpCapabilities } = await s.request('media:getRouterRtpCapabilities', {});
	const device = await loadDevice(wire.rtpCapabilities(rtpCapabilities));
	mark('device-loaded');
	return { device, joinAnswer: await join(device) };
}
