import type { PreparedReceives } from '../prepare/PreparedReceives.ts';
import type { Config } from '../../config/index.ts';
import type { Sfu, Peer, Producer, Room } from '../../sfu/index.ts';
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import type { RpcContext } from '../rpc.ts';
import type { ParleyServer, Session, SessionRegistry } from '../session.ts';
import type { MessageStore } from '../chat/index.ts';
import type { PresenceTracker } from '../presence/PresenceTracker.ts';
import type { ChatAttachment, PeerInfo } from '../protocol/index.ts';
import type { ArrivalResult, Meeting } from '../meeting/Meeting.ts';
import type { MeetingControl } from '../meeting/MeetingControl.ts';
import type { RecordingService } from '../recording/RecordingService.ts';
import type { ModerateRequest, ModerateResult } from '../cluster/CascadeBus.ts';
import type { SpanMeetings } from '../cluster/SpanMeetings.ts';

/** What the chat handler needs of the file store: a room's file, described for a message. */
export interface AttachmentLookup {
	describe(room: string, fileId: string): Promise<ChatAttachment | null>;
}

/** A room that may span nodes (cluster): who is on the other nodes, and their producers. */
export interface SpanView {
	/** Whether this node serves a copy of a room hosted on another node. */
	isCopy(room: string): boolean;
	/** Whether the room spans nodes (as far as this node knows). */
	spans(room: string): boolean;
	/** The people of the room on the other nodes, and the active speaker there (for a copy). */
	roster(room: string): Promise<{ peers: PeerInfo[]; activeSpeaker: string | null }>;
	/** A producer of the room to consume here, brought from another node if needed. */
	producer(room: Room, producerId: string): Promise<Producer>;
	/** A host control (checked here) carried out by the other nodes of the room on their people. */
	moderate(request: ModerateRequest): Promise<ModerateResult>;
}

/** What every feature handler gets: the connection, its session and the shared services. */
export interface HandlerContext extends RpcContext {
	config: Config;
	io: ParleyServer;
	sfu: Sfu;
	session: Session;
	sessions: SessionRegistry;
	messages: MessageStore;
	files: AttachmentLookup;
	presence: PresenceTracker;
	/** This room's meeting (roles, settings, hands) and what hosts can do to it. */
	meeting: Meeting;
	control: MeetingControl;
	/** Meeting recordings (start/stop, state). */
	recordings: RecordingService;
	/** Receive transports prepared in the lobby (POST /api/media/prepare), taken by room:join. */
	prepared: PreparedReceives;
	/** How this connection arrived: its role, whether it was made host for being first. */
	arrival: ArrivalResult;
	/** Rooms spanning nodes (in a cluster, once it is started). */
	span?: SpanView;
	/** One meeting for a room spanning nodes (in a cluster): a copy sends its changes to the host node. */
	spanMeeting?: Pick<SpanMeetings, 'mode' | 'toHost' | 'decide'>;
	/** Take one point of one of this identity's own limits (false: limited). */
	limit(name: 'chat' | 'typing' | 'presence'): Promise<boolean>;
}

/** The session's peer and room, or an `invalid_state` answer when not joined. */
export function joined(session: Session): { room: Room; peer: Peer } {
	const { room, peer } = session;
	if (!room || !peer || peer.closed) throw new ProtocolError(ErrorCode.InvalidState, 'join the room first');
	return { room, peer };
}
