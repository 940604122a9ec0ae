/**
 * How this node's rooms and meetings follow the cluster (wired by the server):
 *   - at each arrival, before the connection is placed here, the meeting it enters: the host
 *     node's own meeting is the truth; a copy of a spanning room follows the host's record (its
 *     lock and settings hold through every node); a room taken over from a dead or drained node
 *     restores the record it left;
 *   - once listening: a drain releases the rooms and closes their meetings; a room placed on
 *     another node (or a copy whose host died) sends its people away to reconnect there; a copy
 *     follows its room's new host node; a node gone leaves the meetings hosted here; people of
 *     a copy's node gone leave the room for everyone.
 */
import type { Logger } from 'pino';
import type { Sfu } from '../../sfu/index.ts';
import type { MeetingRegistry } from '../meeting/MeetingRegistry.ts';
import type { Drainer } from '../ops/Drainer.ts';
import { channels, roomChannels, type ParleyServer } from '../session.ts';
import { peerInfo } from '../handlers/wire.ts';
import type { Cluster } from './index.ts';
import type { SpanMeetings } from './SpanMeetings.ts';

export interface FollowOptions {
	cluster: Cluster;
	io: ParleyServer;
	sfu: Sfu;
	meetings: MeetingRegistry;
	spanMeetings: SpanMeetings | null;
	log: Logger;
}

/** The meeting state a connection to `room` enters here (run before it is placed on this node). */
export async function meetingOnArrival({ cluster, meetings, spanMeetings, log }: FollowOptions, room: string): Promise<void> {
	const hostedHere = cluster.placement.held.has(room);
	if (hostedHere) spanMeetings?.hosted(room);
	if (meetings.get(room) && hostedHere) return;
	const record = await cluster.records.load(room);
	if (!record) return;
	const meeting = meetings.get(room);
	if (meeting) {
		if (!cluster.placement.held.has(room)) meeting.updateSettings(record.settings);
		return;
	}
	meetings.getOrCreate(room).restore(record);
	log.info({ roomId: room }, 'cluster: meeting state taken over from the previous host');
}

/** Follow the cluster's events once the node is listening. */
export function followCluster({ cluster, io, sfu, meetings, spanMeetings }: FollowOptions, drainer: Drainer): void {
	// Drained: the rooms move at once (the next connection for each is placed on another node), and
	// their meetings go with them (the records stay for the next host; copies follow it).
	drainer.on('ending', () => {
		void cluster.placement.releaseAll();
		// Its people (those waiting too) are sent to reconnect first: a meeting closing with people
		// waiting tells them they were turned away, and the meeting goes on elsewhere.
		io.local.emit('session:ended', { reason: 'server-shutdown' });
		io.local.disconnectSockets(true);
		for (const meeting of [...meetings.all.values()]) meeting.close();
	});
	const sendAway = (room: string): void => {
		// Another node hosts the room now: its people reconnect (through the load balancer) there.
		io.local.to(roomChannels(room)).emit('session:ended', { reason: 'server-shutdown' });
		io.local.in(roomChannels(room)).disconnectSockets(true);
		sfu.rooms.get(room)?.close();
		meetings.get(room)?.close();
	};
	cluster.placement.on('lost', sendAway);
	// The host of a room served here as a copy died: its people here are placed again.
	cluster.spanning?.on('hostlost', sendAway);
	// The room served here as a copy has a new host node: its meeting gets this copy's people.
	cluster.spanning?.on('rehosted', (room) => spanMeetings?.rehosted(room));
	// This node was taken for gone and its copy linked again: the other nodes hear of its people again
	// (they were told they left); the people here know them already.
	cluster.spanning?.on('relinked', (room) => {
		const here = [...(io.of('/').adapter.rooms.get(channels.room(room)) ?? [])];
		for (const peer of sfu.rooms.get(room)?.peers.values() ?? []) io.to(channels.room(room)).except(here).emit('peer:joined', peerInfo(peer));
	});
	// A node is gone: its people leave the meetings hosted here.
	cluster.registry.on('nodegone', (node) => spanMeetings?.nodeGone(node));
	// A node with a copy of a room hosted here died: its people there left (everyone is told).
	cluster.spanning?.on('peersgone', (room, peerIds) => {
		for (const peerId of peerIds) io.to(channels.room(room)).emit('peer:left', { peerId });
	});
}
