/**
 * The typed Socket.IO event maps. The server and the client both build their sockets
 * with these, so an event's name, payload and ack type are checked on both sides.
 */
import type { PeerQuality, ProducerInfo, PeerInfo } from './entities.ts';
import type { ConsumerOptions } from './requests.ts';
import type { Result } from './errors.ts';
import type { ChatNotificationMap } from './chat.ts';
import type { MeetingNotificationMap } from './meeting.ts';
import type { RecordingNotificationMap } from './recording.ts';
import type { PreparedMedia, RequestName, RequestPayload, ResponseData } from './requests.ts';

export type Ack<K extends RequestName> = (result: Result<ResponseData<K>>) => void;

export type ClientToServerEvents = {
	[K in RequestName]: (payload: RequestPayload<K>, ack: Ack<K>) => void;
};

/** Server → client notifications (no ack). */
export interface NotificationMap extends ChatNotificationMap, MeetingNotificationMap, RecordingNotificationMap {
	'peer:joined': PeerInfo;
	'peer:left': { peerId: string };
	/**
	 * `consumer`: made for this client already on its receive transport `transportId` (paused
	 * until media:resumeConsumer), for clients that joined with `pushConsumers`, when the
	 * producer's participant publishes again after its media moved (a worker died).
	 */
	'producer:new': ProducerInfo & { consumer?: ConsumerOptions & { transportId: string } };
	'producer:closed': { producerId: string; peerId: string };
	'producer:paused': { producerId: string; peerId: string };
	'producer:resumed': { producerId: string; peerId: string };
	/** A consumer of this peer was closed by the server (its producer went away). */
	'consumer:closed': { consumerId: string; producerId: string };
	/** To a publisher: encode only layers up to this spatial layer (-1: nobody needs any; dynacast). */
	'producer:layers': { producerId: string; maxSpatialLayer: number };
	/** The layers a consumer of this client now receives (after a viewport change or bandwidth change). */
	'consumer:layers': { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
	/** The dominant speaker changed (null: nobody speaks). */
	'speaker:active': { peerId: string | null };
	/** Connection quality of everyone in the room, as the server sees their media. */
	'quality:update': { peers: PeerQuality[] };
	/**
	 * This client's media must be set up again (its media server process died or is being
	 * drained). With `prepared` the server has already set up the new media session on a
	 * live worker (what room:join with `receive` answers, plus the send transport): the
	 * client uses it at once, no round trip. Without it (preparing failed): join again on the
	 * same connection (`room:join` keeps the participant), create new transports, publish
	 * and consume again. Chat and presence are not affected either way.
	 */
	'media:reconnect': { reason: 'worker-lost'; prepared?: PreparedMedia };
	/**
	 * The server is ending this session: replaced by a newer connection, shutting down, the
	 * room closed, the join token expired (rejoin with a fresh one) or the participant was
	 * removed (its identity revoked in this room), or a host ended the meeting.
	 */
	'session:ended': { reason: SessionEndReason };
}

export type SessionEndReason =
	| 'duplicate-identity'
	| 'server-shutdown'
	| 'room-closed'
	| 'token-expired'
	| 'removed'
	/** A host ended the meeting for everyone. */
	| 'meeting-ended';

export type ServerToClientEvents = {
	[K in keyof NotificationMap]: (payload: NotificationMap[K]) => void;
};
