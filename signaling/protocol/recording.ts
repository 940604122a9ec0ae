/**
 * Recording a meeting: hosts start and stop it (checked on the server); everyone in the
 * meeting and in its waiting room is told the state (`recording:state`) on arrival and
 * after every change; the lobby asks `GET /api/rooms/:room/recording`. Hosts list and
 * download their meeting's recordings over HTTP.
 */
import { z } from 'zod';

/** Whether a meeting is being recorded now. */
export interface RecordingState {
	active: boolean;
	/** ms since the epoch (null when not recording). */
	startedAt: number | null;
	/** The recording's id (null when not recording). */
	id: string | null;
	/** On the change that stopped a recording: why (absent otherwise). */
	stopReason?: RecordingStopReason;
}

/** Why a recording stopped: a host or the API, the meeting ended, the size limit, the disk (nearly) full, the server shutting down. */
export type RecordingStopReason = 'stopped' | 'meeting-ended' | 'size-limit' | 'disk-full' | 'server-shutdown';

export const RECORDING_ID_PATTERN = /^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{6}$/;
export const RecordingIdSchema = z.string().regex(RECORDING_ID_PATTERN, 'not a recording id');
/** A recorded file's name inside its recording (`001-alice-camera-01.webm`). */
export const RecordingFileNameSchema = z
	.string()
	.regex(/^([0-9]{3}-[A-Za-z0-9_.@-]{1,64}-[a-z-]{1,16}-[0-9]{2,}\.(webm|mkv)|composed\.mp4)$/, 'not a recording file');
/** The composed file's name in every recording folder. */
export const COMPOSED_FILE = 'composed.mp4';

export const recordingRequestSchemas = {
	/** Host: start recording the meeting. */
	'recording:start': z.strictObject({}),
	/** Host: stop recording (the files are finished in the background). */
	'recording:stop': z.strictObject({}),
} as const;

export interface RecordingResponseMap {
	'recording:start': { recording: RecordingState };
	'recording:stop': { recording: RecordingState };
}

/** To the meeting's hosts: someone's track is not recorded although the recording runs (the others are). */
export interface RecordingProblem {
	name: string;
	source: string;
	/** Why, in words (e.g. "its recorder process keeps failing"). */
	reason: string;
}

export interface RecordingNotificationMap {
	/** The meeting's recording state: on entering (and in the waiting room), and after every change. */
	'recording:state': RecordingState;
	/** Hosts: a track of the running recording is not recorded (RecordingProblem). */
	'recording:problem': RecordingProblem;
}

/** One file of a recording: one track (a person's camera, microphone or screen) from one start to one stop. */
export interface RecordingFile {
	file: string;
	peerId: string;
	name: string;
	source: string;
	kind: 'audio' | 'video';
	codec: string;
	startedAt: number;
	endedAt: number;
	/**
	 * When the file's first frame was captured by its sender (ms since the epoch, the
	 * server's clock; from RTCP sender reports): what lines audio and video up. null or
	 * absent when not known (the composed file then places the file at `startedAt`).
	 */
	capturedAt?: number | null;
	bytes: number;
	/** Why the file ended: recording stopped, the person muted (paused), the track closed, or the recorder process died. */
	end: 'stopped' | 'paused' | 'closed' | 'crashed';
}

/** A recording as hosts list it (GET /api/recordings). */
export interface RecordingInfo {
	id: string;
	room: string;
	startedAt: number;
	/** null while it is still recording (or finishing its files). */
	endedAt: number | null;
	startedBy: string;
	/** Why it stopped (null while recording). */
	stopReason: RecordingStopReason | null;
	bytes: number;
	files: RecordingFile[];
	/**
	 * The composed file (grid of the videos, audio mixed, MP4 H.264/AAC), made in the
	 * background once the recording has stopped: its state and progress (0-1).
	 */
	composed?: { state: 'pending' | 'composing' | 'ready' | 'failed'; progress: number; file: string | null; bytes: number | null; seconds: number | null };
}

export interface RecordingListResponse {
	recordings: RecordingInfo[];
}

/** GET /api/rooms/:room/recording: what the lobby shows before someone enters. */
export interface RoomRecordingResponse {
	recording: boolean;
	startedAt: number | null;
}
