/**
 * One MeetingClient per call session, listening on the session's socket from before it
 * connects, and wired to the call: a host turning our media off turns it off here too,
 * and the session waits for admission (waiting room) before joining the media.
 */
import type { RoomClient } from '../media/RoomClient.ts';
import { MeetingClient } from './MeetingClient.ts';

const meetings = new WeakMap<RoomClient, MeetingClient>();

export function attachMeeting(client: RoomClient): MeetingClient {
	const existing = meetings.get(client);
	if (existing) return existing;
	const { socket, identity } = client.chatSession;
	const meeting = new MeetingClient(socket, identity);
	meeting.onMuted = (source) => {
		const off =
			source === 'microphone'
				? client.setMicEnabled(false)
				: source === 'camera'
					? client.setCameraEnabled(false)
					: client.setScreenShareEnabled(false);
		off.catch(() => {});
	};
	meeting.onDenied = (message) => client.close({ code: 'denied', message });
	const unsubscribe = client.subscribe(() => {
		if (client.getSnapshot().status !== 'closed') return;
		unsubscribe();
		meeting.close();
	});
	meetings.set(client, meeting);
	return meeting;
}

export function meetingOf(client: RoomClient): MeetingClient {
	return attachMeeting(client);
}
