/**
 * A room bigger than one node, in real Chromium: a real redis-server, two Parley nodes
 * (production mode, one mediasoup worker each, `cluster.roomSpreadPeers` = 1) and haproxy
 * with the shipped deploy/haproxy.cfg, started here on the developer's ports and stopped by
 * PID. Ann opens the one URL and the room is placed on a node; Bob opens the same URL: the
 * host is full, so Bob is served by the other node, whose copy of the room is linked to the
 * host's (mediasoup pipe transports). Each decodes the other's video and hears the other's
 * audio: media crosses the link both ways. A hand Bob raises on the copy is seen by Ann (the
 * meeting is the host node's, one for both nodes), and Ann's, second in the queue, by Bob.
 */
import { enterThroughCluster, withCluster } from './cluster-fixture.ts';
import { expect, expectMediaFlowing, remoteTile, test, uniqueRoom, type Participant } from './fixtures.ts';

// The developer's ports, beside e2e/cluster.spec.ts's: HTTP E2E_HTTP_PORT + 6, + 7 (nodes), + 8
// (haproxy); media E2E_MEDIA_PORT + 7, + 8; Redis E2E_HTTP_PORT + 2101.
const HTTP_PORT = Number(process.env.E2E_HTTP_PORT ?? 3217);
const MEDIA_PORT = Number(process.env.E2E_MEDIA_PORT ?? 22170);
const REDIS_PORT = Number(process.env.E2E_REDIS_PORT ?? HTTP_PORT + 2100) + 1;

test('a room spanning two nodes: two people on different nodes see and hear each other', async ({ participant }) => {
	test.setTimeout(60_000);
	const cluster = {
		redisPort: REDIS_PORT,
		httpBasePort: HTTP_PORT + 6,
		lbPort: HTTP_PORT + 8,
		mediaBasePort: MEDIA_PORT + 7,
		env: { PARLEY_CLUSTER_ROOM_SPREAD_PEERS: '1' },
	};
	await withCluster(cluster, async (c) => {
		const { nodes, lb, redis: client } = c;
		const room = uniqueRoom('span');
		const people: Participant[] = [];
		for (const name of ['Ann', 'Bob']) {
			const p = await participant(name, { baseURL: lb.url });
			await enterThroughCluster(p, c, room, name);
			people.push(p);
		}
		const [ann, bob] = people as [Participant, Participant];

		const host = await client.get(`parley:room:{${room}}`);
		const perNode = await client.hgetall(`parley:roomnodes:{${room}}`);
		expect(perNode, `one person on each node (the room is hosted by ${host})`).toEqual({ [nodes[0]!.id]: '1', [nodes[1]!.id]: '1' });

		await expect(remoteTile(ann.page, 'bob')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
		await expect(remoteTile(bob.page, 'ann')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
		await expectMediaFlowing(ann.page, 'Ann (host node) receiving Bob');
		await expectMediaFlowing(bob.page, 'Bob (the other node) receiving Ann');
		// One meeting on both nodes: a hand raised on the copy is seen on the host node, and back.
		await bob.page.getByRole('button', { name: 'Raise hand' }).click();
		await expect(remoteTile(ann.page, 'bob').getByTestId('tile-hand')).toHaveText('✋ 1', { timeout: 5_000 });
		await ann.page.getByRole('button', { name: 'Raise hand' }).click();
		await expect(remoteTile(bob.page, 'ann').getByTestId('tile-hand')).toHaveText('✋ 2', { timeout: 5_000 });
		expect([...ann.pageErrors, ...bob.pageErrors]).toEqual([]);
	});
});
