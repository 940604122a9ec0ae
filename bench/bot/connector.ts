/**
 * The seam between a bot and an SFU. A bot owns its werift PeerConnections, the media it
 * sends and the counters of what it receives; an SfuSession does everything that is
 * specific to one SFU: signaling, SDP / RTP-parameter negotiation, which remote streams
 * exist. Implementations: Parley (Socket.IO + the protocol module), raw mediasoup (a
 * minimal harness over IPC), Janus VideoRoom (Janus's WebSocket API).
 */
import type { RTCPeerConnection, RTCRtpSender } from 'werift';

export type VideoMode = 'none' | 'single' | 'simulcast';

export interface PublishSpec {
	video: VideoMode;
	audio: boolean;
}

/** What the SFU accepted, and how the bot writes media into it. */
export interface PublishedMedia {
	/** Video sender; layer 0 goes through it (werift sets SSRC/PT/extensions). */
	video?: { sender: RTCRtpSender; payloadType: number; /** SSRC per simulcast layer, lowest first; [0] is the sender's. */ ssrcs: number[] };
	audio?: { sender: RTCRtpSender; payloadType: number };
}

/** One remote stream this participant now receives. */
export interface RemoteStream {
	/** The publishing participant's identity (matches the publisher bot's identity). */
	publisherId: string;
	kind: 'audio' | 'video';
	/** SSRC the stream arrives with on this participant's receive connection. */
	ssrc: number;
}

export interface SessionOptions {
	room: string;
	identity: string;
	publish: boolean;
	subscribe: boolean;
}

export interface SfuSession {
	readonly identity: string;
	/** Negotiate the send connection with the given tracks; resolves when the SFU accepted them. */
	publish(pc: RTCPeerConnection, spec: PublishSpec): Promise<PublishedMedia>;
	/**
	 * Receive every remote stream, present and future, on `pc`; `onStream` is called (before
	 * media can arrive) for each stream added. Resolves once the streams present at call
	 * time are set up (none is fine).
	 */
	subscribe(pc: RTCPeerConnection, onStream: (stream: RemoteStream) => void): Promise<void>;
	/**
	 * The SFU moved this participant's media (Parley: media:reconnect after a worker died):
	 * `listener` sets it up again (rejoin, then publish/subscribe on new connections), with the
	 * new media session the SFU prepared if it sent one (opaque here: handed to rejoin()).
	 * Optional: SFUs without it never move media.
	 */
	onMediaReconnect?(listener: (prepared?: unknown) => void): void;
	/**
	 * Start the media over on the same connection (after onMediaReconnect): with the session
	 * the SFU prepared (as the browser does: no round trip), else by joining again.
	 */
	rejoin?(prepared?: unknown): Promise<void>;
	/** Whether the join took the receive connection prepare() set up (then subscribe() gets that PeerConnection). */
	readonly preparedTaken?: boolean;
	close(): Promise<void>;
}

export interface SfuConnector {
	/** e.g. "parley", "mediasoup", "janus". */
	readonly name: string;
	/** The local address bots use for ICE (127.0.0.1, or the bots' end of a veth pair). */
	readonly localAddress: string;
	/**
	 * Set up the receive connection on `pc` before joining, as the browser's lobby does
	 * (Parley's POST /api/media/prepare): resolves once it is connected, with what connect()
	 * takes; null when there is nothing to prepare. Optional: only Parley does.
	 */
	prepare?(options: SessionOptions, pc: RTCPeerConnection): Promise<unknown>;
	/** Connect and join (signaling only; no media yet); `prepared`: what prepare() gave. */
	connect(options: SessionOptions, prepared?: unknown): Promise<SfuSession>;
	close?(): Promise<void>;
}
