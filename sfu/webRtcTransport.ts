/**
 * Opening a peer's WebRTC transport on its router (the worker's shared WebRtcServer port),
 * with the logging every transport gets. Used by Peer and by PreparedReceive (a receive
 * transport opened before its peer joins).
 */
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { Direction, PeerPlacement, TransportAppData } from './peerTypes.ts';

export type Transport = types.WebRtcTransport<TransportAppData>;

export interface TransportSettings {
	initialOutgoingBitrate: number;
	/** Floor under the send estimate of receive transports (bps; 0: none). */
	minOutgoingBitrate: number;
	/** SCTP (data channels): only a prepared receive transport uses it, to connect before any media. */
	sctp?: boolean;
}

/**
 * The prepared transport's data channel carries nothing (its data producer never sends, and
 * nothing is consumed from the browser): small buffers, so that a client writing into it
 * cannot make the worker hold much.
 */
const SCTP = {
	enableSctp: true,
	maxSendMessageSize: 1024,
	maxReceiveMessageSize: 1024,
	sctpSendBufferSize: 16_384,
	sctpPerStreamSendQueueLimit: 16_384,
	sctpMaxReceiverWindowBufferSize: 65_536,
} as const;

export async function openWebRtcTransport(placement: PeerPlacement, direction: Direction, settings: TransportSettings, log: Logger): Promise<Transport> {
	const transport = await placement.router.createWebRtcTransport<TransportAppData>({
		webRtcServer: placement.webRtcServer,
		enableUdp: true,
		enableTcp: true,
		preferUdp: true,
		initialAvailableOutgoingBitrate: settings.initialOutgoingBitrate,
		...(settings.sctp ? SCTP : {}),
		appData: { direction },
	});
	if (direction === 'recv' && settings.minOutgoingBitrate > 0) {
		await transport.setMinOutgoingBitrate(settings.minOutgoingBitrate).catch((error: unknown) => {
			log.warn({ err: error, transportId: transport.id }, 'could not set the minimum outgoing bitrate');
		});
	}
	transport.on('icestatechange', (state) => {
		log.debug({ transportId: transport.id, direction, state }, 'ICE state');
		if (state === 'disconnected') log.info({ transportId: transport.id, direction }, 'ICE disconnected');
	});
	transport.on('dtlsstatechange', (state) => {
		log.debug({ transportId: transport.id, direction, state }, 'DTLS state');
		// 'closed' is the browser closing its connection (leaving, a page closed): normal.
		if (state === 'failed') log.warn({ transportId: transport.id, direction, state }, 'DTLS failed');
		else if (state === 'closed') log.info({ transportId: transport.id, direction, state }, 'DTLS closed by the client');
	});
	log.debug({ transportId: transport.id, direction }, 'transport created');
	if (direction === 'recv' && log.isLevelEnabled('debug')) {
		// The send-side bandwidth estimate toward this client (what its consumers' layers get).
		void transport.enableTraceEvent(['bwe']).catch((error: unknown) => log.debug({ err: error }, 'no bwe trace'));
		transport.on('trace', (trace) => {
			if (trace.type === 'bwe') log.debug({ transportId: transport.id, info: trace.info }, 'bwe');
		});
	}
	return transport;
}
