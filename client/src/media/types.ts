/** The call's public types: what React reads (RoomSnapshot) and what RoomClient is given. */
import type { types as msc } from 'mediasoup-client';
import type { Manager } from 'socket.io-client';
import type { MediaSource, PeerQuality } from '../../../signaling/protocol/index.ts';
import type { DeviceLists } from './devices.ts';
import type { BackgroundMode } from './background/background.ts';

export type RoomStatus = 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface RoomClientError {
	/** A protocol ErrorCode, or a client-side code ('timeout', 'network', 'media', 'ended'). */
	code: string;
	message: string;
}

/** The layers the SFU forwards to this client for one consumer (null: none / not known). */
export interface ConsumerLayers {
	spatialLayer: number | null;
	temporalLayer: number | null;
}

export interface RemoteVideo {
	consumerId: string;
	track: MediaStreamTrack;
	/** What the SFU last said it forwards (null until it says). */
	layers: ConsumerLayers | null;
}

export interface RemoteParticipant {
	id: string;
	name: string;
	joinedAt: number;
	/** The camera track, while that producer is live and not paused. */
	videoTrack: MediaStreamTrack | null;
	/** The consumer of videoTrack (for viewport reports). */
	videoConsumerId: string | null;
	/** Layers of the camera consumer. */
	videoLayers: ConsumerLayers | null;
	/** The microphone track (also while paused: a paused producer just sends nothing). */
	audioTrack: MediaStreamTrack | null;
	/** No microphone producer, or it is paused. */
	audioMuted: boolean;
	videoOn: boolean;
	/** Their screen share, while live. */
	screen: RemoteVideo | null;
	/** Connection quality as the SFU sees it (null until the first measurement). */
	quality: PeerQuality | null;
}

/** How a remote video is shown, in device pixels (see media:setViewports). */
export interface TileViewport {
	width: number;
	height: number;
	visible: boolean;
}

export interface LocalMedia {
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	micOn: boolean;
	cameraOn: boolean;
	/** A toggle is in progress (to disable the button meanwhile). */
	micBusy: boolean;
	cameraBusy: boolean;
	/** The screen being shared (the local capture), if any. */
	screenTrack: MediaStreamTrack | null;
	screenOn: boolean;
	screenBusy: boolean;
	/** The microphone and camera in use (or chosen for the next time they turn on). */
	microphoneId: string | null;
	cameraId: string | null;
	/** The camera's background effect in use. */
	background: BackgroundMode;
}

export interface RoomSnapshot {
	status: RoomStatus;
	room: string;
	self: { id: string; name: string } | null;
	participants: readonly RemoteParticipant[];
	local: LocalMedia;
	/** Why the session is closed (null when the person left on their own). */
	error: RoomClientError | null;
	/** A non-fatal problem to show for a while (e.g. the camera could not start). */
	notice: string | null;
	/** The dominant speaker (a remote peer id or our own), as the SFU hears it. */
	activeSpeaker: string | null;
	/** Our own connection quality as the SFU sees it. */
	selfQuality: PeerQuality | null;
	/** The room's video codec (null before joining). */
	videoCodec: 'vp8' | 'vp9' | null;
	/**
	 * While `reconnecting`: what is being restored. `connection`: the server is out of reach
	 * (chat waits too); `media`: the connection is up but audio and video are being set up again
	 * (the server moved them to another media worker); status is `joined` again once they are.
	 */
	reconnecting: 'connection' | 'media' | null;
	/** Cameras, microphones and speakers, kept current as devices come and go. */
	devices: DeviceLists;
}

export interface RoomClientOptions {
	token: string;
	room: string;
	name: string;
	/** Tracks from the lobby; the client owns (and eventually stops) them from now on. */
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	micOn: boolean;
	cameraOn: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
	/** Socket.IO server URL; default: this page's origin. */
	url?: string;
	/** An already open connection (see connection.ts) to use instead of opening one. */
	manager?: Manager | null;
	/** Resolves once the meeting lets this connection in (waiting room); a rejection ends the session. */
	admission?: () => Promise<void>;
}

export interface ConsumerDescription {
	consumerId: string;
	trackId: string;
	peerId: string;
	peerName: string;
	kind: 'audio' | 'video';
	source: MediaSource;
	layers: ConsumerLayers | null;
	/** The receiver's jitter buffer target set by the loss tuner (null: the browser's default). */
	jitterBufferTargetMs: number | null;
}

export interface ProducerDescription {
	producerId: string;
	source: MediaSource;
	kind: 'audio' | 'video';
	encodings: number;
	/** What dynacast last applied (null: never asked; -1: nothing encoded). */
	maxSpatialLayer: number | null;
}

export interface ConsumerAppData extends msc.AppData {
	peerId: string;
	source: MediaSource;
}

export interface ProducerAppData extends msc.AppData {
	source: MediaSource;
	paused: boolean;
	/** Capture size of the top layer (video). */
	dimensions?: { width: number; height: number };
	/** Simulcast: started with its encodings up to this one only (the server is told). */
	maxSpatialLayer?: number;
}

export type LocalProducer = msc.Producer<ProducerAppData>;
export type RemoteConsumer = msc.Consumer<ConsumerAppData>;
