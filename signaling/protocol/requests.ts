/**
 * Client → server requests. Every request is a Socket.IO event with an acknowledgement;
 * the payload is validated with the schema below and the ack carries a Result.
 */
import { z } from 'zod';
import {
	DtlsParametersSchema,
	IdSchema,
	type DtlsParameters,
	type IceCandidate,
	type IceParameters,
	type RtpCapabilities,
	type SctpParameters,
	type RtpParameters,
	MediaKindSchema,
	MediaSourceSchema,
	RtpCapabilitiesSchema,
	RtpParametersSchema,
} from './media.ts';
import type { IceServer, PeerInfo, ProducerInfo } from './entities.ts';
import { chatRequestSchemas, type ChatResponseMap } from './chat.ts';
import { meetingRequestSchemas, type MeetingResponseMap } from './meeting.ts';
import { recordingRequestSchemas, type RecordingResponseMap } from './recording.ts';

const Empty = z.strictObject({});
const TransportRef = z.strictObject({ transportId: IdSchema });
const ProducerRef = z.strictObject({ producerId: IdSchema });
const ConsumerRef = z.strictObject({ consumerId: IdSchema });

export const requestSchemas = {
	/** The router's RTP capabilities, to load the mediasoup-client Device. */
	'media:getRouterRtpCapabilities': Empty,
	/**
	 * Enter the room (the room comes from the token) with the device's receive capabilities.
	 * `receive`: open the receive transport and consume everyone already here in the same
	 * round trip (the answer's `receive`), so the first frames do not wait for two more.
	 * `pushConsumers`: when a moved participant publishes again, the server makes this
	 * client's consumer of it at once and sends it with `producer:new` (no consume round trip).
	 */
	'room:join': z.strictObject({
		rtpCapabilities: RtpCapabilitiesSchema,
		receive: z.boolean().optional(),
		pushConsumers: z.boolean().optional(),
		/** A receive transport prepared in the lobby (POST /api/media/prepare): used for `receive` if it still can be. */
		prepared: IdSchema.optional(),
	}),
	/** Leave the room; the socket may then disconnect. */
	'room:leave': Empty,
	'media:createTransport': z.strictObject({ direction: z.enum(['send', 'recv']) }),
	'media:connectTransport': z.strictObject({ transportId: IdSchema, dtlsParameters: DtlsParametersSchema }),
	'media:restartIce': TransportRef,
	/** Close one of this peer's transports (its producers and consumers close with it). */
	'media:closeTransport': TransportRef,
	'media:produce': z.strictObject({
		transportId: IdSchema,
		kind: MediaKindSchema,
		rtpParameters: RtpParametersSchema,
		source: MediaSourceSchema,
		paused: z.boolean().optional(),
		/** Size of the top (full-resolution) layer, so the server can map viewports to layers. */
		dimensions: z.strictObject({ width: z.number().int().min(1).max(8192), height: z.number().int().min(1).max(8192) }).optional(),
		/**
		 * Simulcast: the publisher starts with its encodings up to this one only (a camera published
		 * again after a move starts where dynacast had it); absent: all of them.
		 */
		maxSpatialLayer: z.number().int().min(0).max(15).optional(),
	}),
	'media:closeProducer': ProducerRef,
	'media:pauseProducer': ProducerRef,
	'media:resumeProducer': ProducerRef,
	/** Create a (paused) consumer of another peer's producer on one of this peer's recv transports. */
	'media:consume': z.strictObject({ transportId: IdSchema, producerId: IdSchema }),
	/** The client has set the consumer up and is ready for media. */
	'media:resumeConsumer': ConsumerRef,
	'media:closeConsumer': ConsumerRef,
	/**
	 * How each remote video is shown: its size on screen in device pixels and whether it is
	 * visible. The server picks each consumer's layers from this (and pauses hidden ones).
	 */
	'media:setViewports': z.strictObject({
		viewports: z
			.array(
				z.strictObject({
					consumerId: IdSchema,
					width: z.number().int().min(0).max(16384),
					height: z.number().int().min(0).max(16384),
					visible: z.boolean(),
				}),
			)
			.min(1)
			.max(200),
	}),
	...chatRequestSchemas,
	...meetingRequestSchemas,
	...recordingRequestSchemas,
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<K extends RequestName> = z.input<(typeof requestSchemas)[K]>;
export type ParsedRequest<K extends RequestName> = z.output<(typeof requestSchemas)[K]>;

export interface TransportOptions {
	id: string;
	iceParameters: IceParameters;
	iceCandidates: IceCandidate[];
	dtlsParameters: DtlsParameters;
	/** TURN servers with a credential minted for this client (empty when TURN is not configured). */
	iceServers: IceServer[];
	/** Only on a prepared receive transport (its data channel). */
	sctpParameters?: SctpParameters;
}

export interface ConsumerOptions {
	id: string;
	producerId: string;
	peerId: string;
	kind: 'audio' | 'video';
	source: ProducerInfo['source'];
	rtpParameters: RtpParameters;
	/** Whether the producer is paused (e.g. a muted microphone). */
	producerPaused: boolean;
	/** Prepared in the lobby (the browser has it already) and resumed by the join itself: no media:resumeConsumer needed. */
	resumed?: true;
}

export interface ResponseMap extends ChatResponseMap, MeetingResponseMap, RecordingResponseMap {
	'media:getRouterRtpCapabilities': { rtpCapabilities: RtpCapabilities };
	'room:join': {
		self: PeerInfo;
		peers: PeerInfo[];
		/** The room's video codec preference: VP9 means publish SVC (L3T3_KEY) if the device can. */
		videoCodec: 'vp8' | 'vp9';
		/** The current dominant speaker, if any. */
		activeSpeaker: string | null;
		/**
		 * Asked for with `receive` (and the token may subscribe): the receive transport and a
		 * consumer (paused until media:resumeConsumer) of each producer in `peers`.
		 */
		receive?: { transport: TransportOptions; consumers: ConsumerOptions[] };
	};
	'room:leave': Record<string, never>;
	'media:createTransport': TransportOptions;
	'media:connectTransport': Record<string, never>;
	'media:closeTransport': Record<string, never>;
	/** New ICE parameters, and fresh TURN credentials (the old ones may be about to expire). */
	'media:restartIce': { iceParameters: IceParameters; iceServers: IceServer[] };
	'media:produce': { producerId: string };
	'media:closeProducer': Record<string, never>;
	'media:pauseProducer': Record<string, never>;
	'media:resumeProducer': Record<string, never>;
	'media:consume': ConsumerOptions;
	'media:resumeConsumer': Record<string, never>;
	'media:closeConsumer': Record<string, never>;
	'media:setViewports': Record<string, never>;
}

export type ResponseData<K extends RequestName> = ResponseMap[K];

/**
 * A media session the server set up for a client whose media moved to another worker
 * (sent with media:reconnect): what room:join with `receive` answers, plus the send
 * transport when the token may publish.
 */
export type PreparedMedia = ResponseData<'room:join'> & { send?: TransportOptions };
