/**
 * Fan-out of meeting changes: the state to everyone admitted, the waiting list to hosts.
 * Bound once per meeting when the registry creates it.
 */
import type { Meeting } from './meeting/Meeting.ts';
import { channels, type ParleyServer } from './session.ts';

/** How this node takes part in a room's meeting (cluster/SpanMeetings): alone, the host node of a spanning room, or a copy. */
export type MeetingSpanMode = (room: string) => 'alone' | 'host' | 'copy';

export function bindMeetingEvents(server: ParleyServer, meeting: Meeting, mode: MeetingSpanMode = () => 'alone'): void {
	const room = meeting.id;
	// The meeting state is this process's: its changes go to this node's sockets (io.local), and
	// in a room spanning nodes the host node's go to every node's sockets (a copy sends none).
	const io = (): ParleyServer | ParleyServer['local'] | null => {
		const m = mode(room);
		return m === 'copy' ? null : m === 'host' ? server : server.local;
	};
	meeting.on('change', () => io()?.to(channels.chat(room)).emit('meeting:state', meeting.state()));
	meeting.on('waitingchange', () => io()?.to(channels.hosts(room)).emit('waiting:list', { people: meeting.waitingView() }));
	meeting.on('rolechange', (identity, role) => io()?.to(channels.identity(room, identity)).emit('meeting:you', { role, firstInRoom: false }));
}
