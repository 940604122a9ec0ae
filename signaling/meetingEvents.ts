/**
 * Fan-out of meeting changes: the state to everyone admitted, the waiting list to hosts.
 * Bound once per meeting when the registry creates it.
 */
import type { Meeting } from './meeting/Meeting.ts';
import { channels, type ParleyServer } from './session.ts';

export function bindMeetingEvents(server: ParleyServer, meeting: Meeting): void {
	// The meeting state is this process's: its changes go to this node's sockets (io.local).
	const io = server.local;
	const room = meeting.id;
	meeting.on('change', () => io.to(channels.chat(room)).emit('meeting:state', meeting.state()));
	meeting.on('waitingchange', () => io.to(channels.hosts(room)).emit('waiting:list', { people: meeting.waitingList() }));
	meeting.on('rolechange', (identity, role) =>
		io.to(channels.identity(room, identity)).emit('meeting:you', { role, firstInRoom: false }),
	);
}
