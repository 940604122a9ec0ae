/**
 * The requests between the nodes of a spanning room about its people and its meeting, over the
 * cascade bus (`roster` and spanMessages; the media ones are Cascade's own), for SpanningRooms:
 * what this node asks the other nodes of the room, and what it answers them (Cascade's hooks).
 * A request about a room is taken only from a node of the room.
 */
import type { Logger } from 'pino';
import type { PeerInfo } from '../protocol/index.ts';
import { peerInfos } from '../handlers/wire.ts';
import type { Cascade, CascadeOptions } from './Cascade.ts';
import type { CascadeResult, MeetingMirror, MeetingRequest, MeetingResult, ModerateRequest, ModerateResult } from './CascadeBus.ts';
import type { SpanningRooms, SpanningRoomsOptions } from './SpanningRooms.ts';

/** How long a roster answer is waited for per node (ms): a slow node's people are missing from a join answer, not the join. */
const ROSTER_TIMEOUT_MS = 1500;

export interface SpanRequestsOptions extends Pick<SpanningRoomsOptions, 'sfu' | 'registry' | 'placement' | 'moderate' | 'meeting' | 'mirror'> {
	/** The rooms asked and answered for: which span, which are copies here (and of which host node); a copy follows a new host. */
	rooms: Pick<SpanningRooms, 'spans' | 'isCopy' | 'hostOf' | 'serveCopy' | 'beforeAnnounce'>;
	/** The links with the other nodes (once Cascade is created). */
	cascade: () => Cascade | undefined;
	/** A room hosted here spans from now on: its events go to every node. */
	spanning: (room: string) => void;
	/** A copy here follows its room's new host node (SpanningRooms' `rehosted`). */
	rehosted: (room: string) => void;
	log: Logger;
}

/** The Cascade hooks that answer the other nodes. */
export type SpanAnswers = Required<Pick<CascadeOptions, 'roster' | 'moderate' | 'meeting' | 'mirror' | 'rehost'>>;

export class SpanRequests {
	readonly #options: SpanRequestsOptions;
	readonly #log: Logger;

	constructor(options: SpanRequestsOptions) {
		this.#options = options;
		this.#log = options.log;
	}

	/** What this node answers to the other nodes' requests (for Cascade). */
	get answers(): SpanAnswers {
		return {
			roster: (id) => this.#roster(id),
			moderate: (from, request) => this.#moderated(from, request),
			meeting: (from, request) => this.#meetingFrom(from, request),
			mirror: async (from, mirror) => this.#mirrored(from, mirror),
			rehost: (from, room) => this.#rehost(from, room),
		};
	}

	/** The people on the other nodes of a spanning room (what each answers for its copy). */
	async roster(room: string): Promise<{ peers: PeerInfo[]; activeSpeaker: string | null }> {
		const cascade = this.#options.cascade();
		if (!cascade || !this.#options.rooms.spans(room)) return { peers: [], activeSpeaker: null };
		const nodes = await this.#otherNodes(room);
		const host = this.#options.rooms.hostOf(room);
		const answers = await Promise.all(
			nodes.map((node) =>
				Promise.race([
					cascade.roster(room, node),
					new Promise<never>((_, reject) => setTimeout(() => reject(new Error('roster timed out')), ROSTER_TIMEOUT_MS).unref()),
				]).catch((err: unknown) => {
					this.#log.warn({ err, roomId: room, node }, 'cascade: no roster from a node of the room');
					return { peers: [], activeSpeaker: null };
				}),
			),
		);
		const hostAnswer = host ? answers[nodes.indexOf(host)] : undefined;
		return { peers: answers.flatMap((a) => a.peers), activeSpeaker: hostAnswer?.activeSpeaker ?? null };
	}

	/**
	 * A host control (permission checked here) for the room's participants on the other nodes:
	 * each node of the room carries it out on its own people. `found`: someone had the target;
	 * `refused`: a node refused it (the target is a host there). A node that does not answer
	 * counts as not having the target (logged).
	 */
	async moderate(request: ModerateRequest): Promise<ModerateResult> {
		const cascade = this.#options.cascade();
		const total: ModerateResult = { found: false, affected: 0 };
		if (!cascade || !this.#options.rooms.spans(request.room)) return total;
		const nodes = await this.#otherNodes(request.room);
		const answers = await Promise.all(
			nodes.map((node) =>
				cascade.moderate(node, request).catch((err: unknown) => {
					this.#log.warn({ err, roomId: request.room, node, action: request.action }, 'cascade: a node of the room did not carry out a host control');
					return null;
				}),
			),
		);
		for (const a of answers) {
			if (!a) continue;
			total.found ||= a.found;
			total.affected += a.affected;
			if (a.refused) total.refused = a.refused;
			if (a.ids) total.ids = [...(total.ids ?? []), ...a.ids];
		}
		return total;
	}

	/**
	 * The room was just claimed here (hosted anew, or taken over) while other nodes may still
	 * serve copies of it (its former host's people left, or it died): it spans, and each of them
	 * links its copy to this node and sends it its producers (`rehost`).
	 */
	async claimed(room: string): Promise<void> {
		const cascade = this.#options.cascade();
		if (!cascade) return;
		const nodes = await this.#otherNodes(room).catch(() => []);
		if (nodes.length === 0) return;
		this.#options.spanning(room);
		this.#log.info({ roomId: room, nodes: nodes.length }, 'cascade: room claimed while other nodes serve copies of it; they follow this node');
		await Promise.all(nodes.map((node) => cascade.rehost(node, room).catch((err: unknown) => this.#log.warn({ err, roomId: room, node }, 'cascade: a copy of the room did not follow its new host'))));
	}

	/** Tell the host node of a room served here as a copy about its meeting (fails when it does not answer). */
	async toHost(request: MeetingRequest): Promise<MeetingResult> {
		const host = this.#options.rooms.hostOf(request.room);
		const cascade = this.#options.cascade();
		if (!host || !cascade) throw new Error('this node does not serve a copy of the room');
		return cascade.meeting(host, request);
	}

	/** Send the meeting of a room hosted here to the other nodes of the room (each follows it). */
	async mirror(mirror: MeetingMirror): Promise<void> {
		const cascade = this.#options.cascade();
		if (!cascade || !this.#options.rooms.spans(mirror.room) || this.#options.rooms.isCopy(mirror.room)) return;
		const nodes = await this.#otherNodes(mirror.room);
		await Promise.all(
			nodes.map((node) =>
				cascade.mirror(node, mirror).catch((err: unknown) => this.#log.warn({ err, roomId: mirror.room, node }, 'cascade: the meeting not sent to a node of the room')),
			),
		);
	}

	/** The live nodes counted in the room other than this one (and this copy's host). */
	async #otherNodes(room: string): Promise<string[]> {
		const self = this.#options.registry.id;
		const live = new Set((await this.#options.registry.list()).map((n) => n.id));
		const nodes = [...(await this.#options.placement.counts(room)).keys()].filter((n) => n !== self && live.has(n));
		const host = this.#options.rooms.hostOf(room);
		if (host && !nodes.includes(host)) nodes.push(host);
		return nodes;
	}

	/** Who is in this node's copy of the room (or in the room hosted here), for another node's copy. */
	#roster(id: string): CascadeResult<'roster'> {
		const { rooms, sfu } = this.#options;
		// Asked by another node's copy: from now on this node's events of the room go to every node.
		if (!rooms.isCopy(id)) this.#options.spanning(id);
		const room = sfu.rooms.get(id);
		if (!room || room.closed) return { peers: [], activeSpeaker: null };
		return { peers: peerInfos(room), activeSpeaker: rooms.isCopy(id) ? null : room.activeSpeaker };
	}

	/**
	 * A host control from another node: carried out only if that node is one of the room's (the
	 * host of this copy, linked with this node for the room, or counted in it).
	 */
	async #moderated(from: string, request: ModerateRequest): Promise<ModerateResult> {
		const { room } = request;
		const { moderate } = this.#options;
		if (!moderate) return { found: false, affected: 0 };
		await this.#ofRoom(room, from, request.action);
		this.#log.info({ roomId: room, node: from, action: request.action }, 'cascade: host control from another node of the room');
		return moderate(request);
	}

	/** A copy's report or change for a meeting hosted here: from a node of the room only; the room spans from now on. */
	async #meetingFrom(from: string, request: MeetingRequest): Promise<MeetingResult> {
		const { meeting } = this.#options;
		if (!meeting) throw new Error('meetings are not served here');
		if (this.#options.rooms.isCopy(request.room)) throw new Error('this node does not host the room');
		await this.#ofRoom(request.room, from, request.action);
		this.#options.spanning(request.room);
		return meeting(from, request);
	}

	/** The host's meeting for a copy here: only from the node this copy follows. */
	#mirrored(from: string, mirror: MeetingMirror): void {
		if (this.#options.rooms.hostOf(mirror.room) !== from) {
			this.#log.warn({ roomId: mirror.room, node: from }, 'cascade: a meeting from a node that does not host the room ignored');
			throw new Error('not the host node of this room');
		}
		this.#options.mirror?.(mirror);
	}

	/**
	 * `from` says it hosts a room served here as a copy: if the room's lease says so, the copy
	 * follows it (linked anew, every producer of this node's people pushed to it; a push that
	 * fails is logged, its consumers there wait for it in vain as for any failed push).
	 */
	async #rehost(from: string, id: string): Promise<void> {
		const { rooms } = this.#options;
		if ((await this.#options.placement.holder(id)) !== from) throw new Error('not the host of this room');
		const room = this.#options.sfu.rooms.get(id);
		if (!rooms.isCopy(id) || !room || room.closed) return;
		if (rooms.hostOf(id) === from && this.#options.cascade()?.linkedWith(id, from)) return;
		rooms.serveCopy(id, from);
		this.#log.info({ roomId: id, host: from }, 'cascade: the room has a new host node; this copy follows it');
		this.#options.rehosted(id);
		for (const peer of room.peers.values()) {
			for (const producer of peer.producers.values()) void rooms.beforeAnnounce(room, producer);
		}
	}

	/** Requests about a room are taken only from nodes of the room (this copy's host, linked with it, or counted in it). */
	async #ofRoom(room: string, from: string, action: string): Promise<void> {
		const ofRoom = this.#options.rooms.hostOf(room) === from || this.#options.cascade()?.linkedWith(room, from) === true || (await this.#options.placement.counts(room)).has(from);
		if (ofRoom) return;
		this.#log.warn({ roomId: room, node: from, action }, 'cascade: request from a node outside the room refused');
		throw new Error('not a node of this room');
	}
}
