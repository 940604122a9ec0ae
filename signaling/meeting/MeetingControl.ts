/**
 * What hosts (through Socket.IO) and integrators (through the HTTP API) do to a meeting:
 * mute, ask to unmute, remove, end, roles, the waiting room. Permission checks are the
 * callers' (a handler checks the role, the API its key); this class does the deed and
 * tells the people concerned.
 */
import type { Logger } from 'pino';
import type { Sfu } from '../../sfu/index.ts';
import type { Grants } from '../auth/tokens.ts';
import type { ModeratedSource, Role } from '../protocol/index.ts';
import { ErrorCode, ProtocolError } from '../protocol/index.ts';
import { channels, endSessions, type ParleyServer, type SessionRegistry } from '../session.ts';
import type { Meeting } from './Meeting.ts';
import type { RevocationList } from '../auth/Revocations.ts';
import type { ModerateRequest, ModerateResult } from '../cluster/CascadeBus.ts';

export interface MeetingControlDeps {
	io: ParleyServer;
	sfu: Sfu;
	sessions: SessionRegistry;
	revocations: RevocationList;
	log: Logger;
}

const SOURCES: Record<ModeratedSource, readonly string[]> = {
	microphone: ['microphone'],
	camera: ['camera'],
	screen: ['screen', 'screen-audio'],
};

export class MeetingControl {
	readonly #deps: MeetingControlDeps;

	constructor(deps: MeetingControlDeps) {
		this.#deps = deps;
	}

	/** Mute a microphone (pause: the person may resume when allowed) or stop a camera/screen (close). */
	async mute(meeting: Meeting, identity: string, source: ModeratedSource, by: string): Promise<number> {
		if (!meeting.isMember(identity)) throw new ProtocolError(ErrorCode.NotFound, `no participant ${identity} in this meeting`);
		const peer = this.#deps.sessions.get(meeting.id, identity)?.peer;
		let affected = 0;
		if (peer && !peer.closed) {
			for (const producer of [...peer.producers.values()]) {
				if (!SOURCES[source].includes(producer.appData.source)) continue;
				if (source === 'microphone') {
					if (producer.paused) continue;
					await producer.pause();
				} else {
					peer.closeProducer(producer.id);
				}
				affected++;
			}
		}
		meeting.block(identity, source);
		this.#deps.io
			.to(channels.identity(meeting.id, identity))
			.emit('moderation:notice', { kind: 'muted', source, by, mayUnmute: meeting.settings.allowSelfUnmute });
		this.#deps.log.info({ roomId: meeting.id, target: identity, source, by, affected }, 'host turned media off');
		return affected;
	}

	/** Mute every microphone but `except`'s. */
	async muteAll(meeting: Meeting, except: string | null, by: string): Promise<number> {
		let affected = 0;
		for (const m of meeting.members()) {
			if (m.identity === except) continue;
			affected += await this.mute(meeting, m.identity, 'microphone', by);
		}
		return affected;
	}

	askUnmute(meeting: Meeting, identity: string, by: string): void {
		if (!meeting.isMember(identity)) throw new ProtocolError(ErrorCode.NotFound, `no participant ${identity} in this meeting`);
		meeting.unblock(identity);
		this.#deps.io.to(channels.identity(meeting.id, identity)).emit('moderation:notice', { kind: 'ask-unmute', by });
	}

	/**
	 * Remove an identity: its connections end and it cannot come back into this meeting. A host
	 * can be removed only by the operator (`operator`: the server API), never by a participant.
	 */
	async remove(room: string, meeting: Meeting | undefined, identity: string, by: string, { operator = false }: { operator?: boolean } = {}): Promise<void> {
		if (meeting?.roleOf(identity) === 'host' && !operator) {
			throw new ProtocolError(ErrorCode.Forbidden, 'a host cannot be removed by another participant');
		}
		// The revocation list ends the identity's sessions in the room (on every process with Redis).
		await this.#deps.revocations.revoke(room, identity);
		meeting?.forget(identity);
		const waiting = channels.waitingIdentity(room, identity);
		endSessions(this.#deps.io, waiting, 'removed');
		this.#deps.log.info({ roomId: room, target: identity, by }, 'participant removed');
	}

	/**
	 * A host control sent by another node of a spanning room (it checked the permission) for
	 * this node's people: carried out as a local one. Not a member here: `found` false.
	 */
	async moderateHere(meeting: Meeting | undefined, request: ModerateRequest): Promise<ModerateResult> {
		if (!meeting || meeting.closed) return { found: false, affected: 0 };
		switch (request.action) {
			case 'muteAll':
				return { found: true, affected: await this.muteAll(meeting, request.except, request.by) };
			case 'mute':
				if (!meeting.isMember(request.identity)) return { found: false, affected: 0 };
				return { found: true, affected: await this.mute(meeting, request.identity, request.source, request.by) };
			case 'remove':
				if (!meeting.isMember(request.identity)) return { found: false, affected: 0 };
				if (meeting.roleOf(request.identity) === 'host') return { found: true, affected: 0, refused: 'forbidden' };
				await this.remove(request.room, meeting, request.identity, request.by);
				return { found: true, affected: 1 };
			case 'askUnmute':
				if (!meeting.isMember(request.identity)) return { found: false, affected: 0 };
				this.askUnmute(meeting, request.identity, request.by);
				return { found: true, affected: 1 };
			case 'decide': {
				const ids = meeting.decide(request.identity, request.decision);
				return { found: ids.length > 0, affected: ids.length, ids };
			}
			case 'end':
				// Its people were told and disconnected through the adapter by the ending node: the meeting and media close here.
				this.#closeHere(request.room, meeting);
				this.#deps.log.info({ roomId: request.room, by: request.by }, 'meeting ended on another node of the room');
				return { found: true, affected: 0 };
		}
	}

	/** End the meeting for everyone: connections end, media closes, the meeting is dropped. */
	end(room: string, meeting: Meeting | undefined, by: string): void {
		endSessions(this.#deps.io, [channels.chat(room), channels.room(room), channels.waiting(room)], 'meeting-ended');
		this.#closeHere(room, meeting);
		this.#deps.log.info({ roomId: room, by }, 'meeting ended');
	}

	#closeHere(room: string, meeting: Meeting | undefined): void {
		this.#deps.io.local.in([channels.chat(room), channels.room(room), channels.waiting(room)]).disconnectSockets(true);
		this.#deps.sfu.rooms.get(room)?.close();
		meeting?.close();
	}

	setRole(meeting: Meeting, identity: string, role: 'cohost' | 'participant', by: string): void {
		if (!meeting.inMeeting(identity)) throw new ProtocolError(ErrorCode.NotFound, `no participant ${identity} in this meeting`);
		if (meeting.roleOf(identity) === 'host') throw new ProtocolError(ErrorCode.InvalidState, 'a host stays host');
		meeting.setRole(identity, role);
		this.#syncHostChannel(meeting, identity, role);
		this.#deps.io.to(channels.identity(meeting.id, identity)).emit('moderation:notice', { kind: 'role', role, by });
	}

	/** Let waiting people in (one identity, or all with null). */
	admit(meeting: Meeting, identity: string | null): string[] {
		return meeting.decide(identity, 'admitted');
	}

	deny(meeting: Meeting, identity: string | null): string[] {
		return meeting.decide(identity, 'denied');
	}

	lowerHand(meeting: Meeting, identity: string, by: string | null): void {
		if (!meeting.lowerHand(identity)) return;
		if (by) this.#deps.io.to(channels.identity(meeting.id, identity)).emit('moderation:notice', { kind: 'hand-lowered', by });
	}

	/**
	 * Change what an identity's connections may do from now on. Producers the new grants do
	 * not allow are closed.
	 */
	async updateGrants(room: string, identity: string, grants: Partial<Grants>): Promise<number> {
		// This node's sockets: the meeting and its media are this process's.
		const sockets = await this.#deps.io.local.in(channels.identity(room, identity)).fetchSockets();
		for (const socket of sockets) Object.assign(socket.data.claims.grants, grants);
		const peer = this.#deps.sessions.get(room, identity)?.peer;
		const current = sockets[0]?.data.claims.grants;
		if (peer && !peer.closed && current) {
			for (const producer of [...peer.producers.values()]) {
				const allowed = current.publish && (!current.publishSources || current.publishSources.includes(producer.appData.source));
				if (!allowed) peer.closeProducer(producer.id);
			}
		}
		return sockets.length;
	}

	/** Hosts and co-hosts are in the hosts channel (waiting list); others are not. */
	#syncHostChannel(meeting: Meeting, identity: string, role: Role): void {
		const sockets = this.#deps.io.in(channels.identity(meeting.id, identity));
		if (role === 'participant') sockets.socketsLeave(channels.hosts(meeting.id));
		else {
			sockets.socketsJoin(channels.hosts(meeting.id));
			sockets.emit('waiting:list', { people: meeting.waitingView() });
		}
	}
}
