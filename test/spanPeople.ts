/**
 * People in a room spanning the nodes of a test cluster (bench/lib/cluster.ts): Socket.IO
 * clients that keep every notification they got (some come at once on connecting), waits on
 * what they saw, and a meeting whose host joined on the room's host node ("A").
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { ClusterNode } from '../bench/lib/cluster.ts';
import type { NotificationMap } from '../signaling/protocol/index.ts';
import { connectClient, joinRoom, type TestClient } from './harness.ts';

export type Events = keyof NotificationMap;

export interface Person {
	socket: TestClient;
	seen: Map<Events, unknown[]>;
}

export interface SpanPeopleOptions {
	/** The cluster's nodes (the first two are A and B; read at each call). */
	nodes: () => ClusterNode[];
	/** A client of the cluster's Redis. */
	store: () => Redis;
	/** Where the clients go, to be disconnected after the tests. */
	clients: TestClient[];
	/** How long a wait for a notification lasts before it fails (ms). */
	waitMs: number;
}

const grants = { publish: true, subscribe: true };

export function spanPeople({ nodes, store, clients, waitMs }: SpanPeopleOptions) {
	async function person(node: ClusterNode, room: string, identity: string, opts: { host?: boolean; pinned?: boolean } = {}): Promise<Person> {
		const seen = new Map<Events, unknown[]>();
		const url = opts.pinned ? `${node.url}?node=${node.id}` : node.url;
		const socket = await connectClient(url, node.token(room, identity, grants, opts.host ? 'host' : undefined), false, clients, (s) =>
			s.onAny((event: Events, payload: unknown) => {
				const list = seen.get(event) ?? [];
				list.push(payload);
				seen.set(event, list);
			}),
		);
		return { socket, seen };
	}

	/** Wait until the last `event` the person got matches (or fail after `ms`). */
	async function until<E extends Events>(p: Person, event: E, match: (payload: NotificationMap[E]) => boolean, what: string, ms = waitMs): Promise<NotificationMap[E]> {
		const deadline = Date.now() + ms;
		for (;;) {
			const last = p.seen.get(event)?.at(-1) as NotificationMap[E] | undefined;
			if (last !== undefined && match(last)) return last;
			if (Date.now() > deadline) assert.fail(`${what} (last ${event}: ${JSON.stringify(last)})`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	/** Any `event` the person got matches (or fail after `ms`). */
	async function got<E extends Events>(p: Person, event: E, match: (payload: NotificationMap[E]) => boolean, what: string, ms = waitMs): Promise<NotificationMap[E]> {
		const deadline = Date.now() + ms;
		for (;;) {
			const hit = (p.seen.get(event) as NotificationMap[E][] | undefined)?.find(match);
			if (hit !== undefined) return hit;
			if (Date.now() > deadline) assert.fail(`${what} (${event}: ${JSON.stringify(p.seen.get(event) ?? [])})`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	/** A host ("hal") joins the room on the node that hosts it: that node is A, the other B. */
	async function meetingOnA(room: string): Promise<{ a: ClusterNode; b: ClusterNode; hal: Person }> {
		let [a, b] = nodes() as [ClusterNode, ClusterNode];
		const hal = await person(a, room, 'hal', { host: true }).catch(async (error: { data?: { code?: string } }) => {
			if (error.data?.code !== 'wrong_node') throw error;
			[a, b] = [b, a];
			return person(a, room, 'hal', { host: true });
		});
		await joinRoom(hal.socket);
		assert.equal(await store().get(`parley:room:{${room}}`), a.id, 'the room is hosted by node A');
		return { a, b, hal };
	}

	return { person, until, got, meetingOnA };
}
