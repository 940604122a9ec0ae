/**
 * Room placement on a real redis-server, with two registered nodes: where a connection for a
 * room that nobody hosts goes, from a node that drains and from one that does not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { redisForTests } from '../../test/redis.ts';
import { NodeRegistry } from './NodeRegistry.ts';
import { RoomPlacement } from './RoomPlacement.ts';

const log = pino({ level: 'silent' });
const prefix = `parley-test-${randomBytes(4).toString('hex')}:`;
let redis: Awaited<ReturnType<typeof redisForTests>>;
let client: Redis;
const registries: NodeRegistry[] = [];
const placements: RoomPlacement[] = [];

/** A node with this id; `draining` says what it publishes and what its placement is told. */
async function node(id: string, draining: { now: boolean; published: boolean }): Promise<RoomPlacement> {
	const registry = new NodeRegistry({
		redis: client,
		nodeId: id,
		heartbeatMs: 200,
		ttlMs: 2000,
		keyPrefix: prefix,
		log,
		describe: () => ({ url: `http://${id}`, mediaAddress: '127.0.0.1', mediaPorts: [], load: { rooms: 0, peers: 0, consumers: 0 }, draining: draining.published }),
	});
	await registry.start();
	registries.push(registry);
	const placement = new RoomPlacement({ redis: client, registry, leaseMs: 3000, inUse: () => true, draining: () => draining.now, keyPrefix: prefix, log });
	placements.push(placement);
	return placement;
}

before(async () => {
	redis = await redisForTests();
	client = new Redis(redis.url);
});

after(async () => {
	for (const p of placements) p.close();
	await Promise.all(registries.map((r) => r.close()));
	client?.disconnect();
	await redis?.stop();
});

it('a draining node claims no room, even for a client sent to it by name: it sends the client to a node that takes meetings', async () => {
	const a = await node('node-a', { now: true, published: false }); // draining; its entry does not say so yet
	await node('node-b', { now: false, published: false });
	const room = `r-${randomBytes(3).toString('hex')}`;
	// `?node=node-a` (a load balancer still routing to it): before, node-a claimed the room.
	const placed = await a.place(room, true);
	assert.equal(placed.host, 'other');
	assert.equal(placed.host === 'other' ? placed.node.id : null, 'node-b');
	assert.equal(await a.holder(room), null, 'nobody holds the room yet');
	// Not sent by name either: the least-loaded node would be node-a itself (a tie goes to self).
	const chosen = await a.place(room, false);
	assert.equal(chosen.host === 'other' ? chosen.node.id : chosen.host, 'node-b');
});

it('a node that is not draining claims a room for a client sent to it, and keeps it', async () => {
	const c = await node('node-c', { now: false, published: false });
	const room = `r-${randomBytes(3).toString('hex')}`;
	assert.deepEqual(await c.place(room, true), { host: 'self', claimed: true });
	assert.equal(await c.holder(room), 'node-c');
	assert.deepEqual(await c.place(room, false), { host: 'self' });
});

it('a draining node alone: no node takes the meeting', async () => {
	// node-b and node-c gone: only the draining node-a is left.
	await Promise.all(registries.slice(1).map((r) => r.close()));
	const a = placements[0]!;
	const room = `r-${randomBytes(3).toString('hex')}`;
	await new Promise((r) => setTimeout(r, 300));
	assert.deepEqual(await a.place(room, true), { host: 'none', reason: 'no live node takes new meetings' });
});
