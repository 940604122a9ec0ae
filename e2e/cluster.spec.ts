/**
 * Several nodes, in real Chromium: a real redis-server, two Parley nodes (production mode,
 * one mediasoup worker each) and haproxy with the shipped deploy/haproxy.cfg in front of
 * them, all started here on the developer's ports and stopped by PID. Two participants
 * open the one URL (haproxy); the room is placed on one node (the other follows
 * `wrong_node`); they see and hear each other and chat. Then the node hosting the room is
 * killed with kill -9: both get media and chat back by themselves on the live node (a
 * message sent while the host is dead is delivered once it is back; no message lost or
 * doubled). Prints kill → media back per page.
 */
import { enterThroughCluster, withCluster } from './cluster-fixture.ts';
import { expect, expectMediaFlowing, remoteTile, test, uniqueRoom, type PageGlobals, type Participant } from './fixtures.ts';
import type { Page } from '@playwright/test';

// The developer's ports: HTTP E2E_HTTP_PORT + 3.. (nodes +3, +4, haproxy +5), media
// E2E_MEDIA_PORT + 5, + 6, Redis E2E_HTTP_PORT + 2100 (E2E_REDIS_PORT to choose another).
const HTTP_PORT = Number(process.env.E2E_HTTP_PORT ?? 3217);
const MEDIA_PORT = Number(process.env.E2E_MEDIA_PORT ?? 22170);
const REDIS_PORT = Number(process.env.E2E_REDIS_PORT ?? HTTP_PORT + 2100);

interface ElementLike {
	querySelector(selector: string): { textContent: string | null } | null;
}

function texts(page: Page): Promise<string[]> {
	return page
		.getByTestId('chat-message')
		.evaluateAll((els) => els.map((el) => (el as unknown as ElementLike).querySelector('[data-testid="chat-text"]')?.textContent ?? ''));
}

async function send(page: Page, text: string): Promise<void> {
	const input = page.getByTestId('chat-input');
	await input.fill(text);
	await input.press('Enter');
	await expect(input).toHaveValue('');
}

async function openChat(page: Page): Promise<void> {
	if (!(await page.getByTestId('chat-panel').isVisible())) await page.getByTestId('chat-toggle').click();
	await expect(page.getByTestId('chat-panel')).toBeVisible();
	await page.getByTestId('chat-tab-messages').click();
}

/** Peer connections the page has made so far. */
function pcCount(page: Page): Promise<number> {
	return page.evaluate(() => ((globalThis as unknown as PageGlobals).__parleyTestPcs ?? []).length);
}

/** Remote video frames decoded and audio packets received on peer connections made after the first `since`. */
function mediaSince(page: Page, since: number): Promise<{ frames: number; audio: number }> {
	return page.evaluate(async (from) => {
		const pcs = ((globalThis as unknown as PageGlobals).__parleyTestPcs ?? []).slice(from);
		let frames = 0;
		let audio = 0;
		for (const pc of pcs) {
			if (pc.connectionState === 'closed') continue;
			(await pc.getStats()).forEach((e) => {
				if (e.type !== 'inbound-rtp') return;
				if (e.kind === 'video') frames += Number(e.framesDecoded ?? 0);
				else audio += Number(e.packetsReceived ?? 0);
			});
		}
		return { frames, audio };
	}, since);
}

test('two nodes behind haproxy: a call and chat across them; kill -9 of the room\'s node, media and chat come back by themselves', async ({ participant }) => {
	test.setTimeout(90_000);
	const cluster = {
		redisPort: REDIS_PORT,
		httpBasePort: HTTP_PORT + 3,
		lbPort: HTTP_PORT + 5,
		mediaBasePort: MEDIA_PORT + 5,
		env: { PARLEY_CLUSTER_HEARTBEAT_MS: '300', PARLEY_CLUSTER_NODE_TTL_MS: '1200' },
	};
	await withCluster(cluster, async (c) => {
		const { nodes, lb, redis: client } = c;
		const room = uniqueRoom('cluster');
		const people: Participant[] = [];
		for (const name of ['Ann', 'Bob']) {
			const p = await participant(name, { baseURL: lb.url });
			await enterThroughCluster(p, c, room, name);
			people.push(p);
		}
		const [ann, bob] = people as [Participant, Participant];

		const hostId = await client.get(`parley:room:{${room}}`);
		const host = nodes.find((n) => n.id === hostId);
		expect(host, `the room is placed on a node (${hostId})`).toBeTruthy();

		await test.step('a call and chat through the cluster', async () => {
			await expect(remoteTile(ann.page, 'bob')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
			await expect(remoteTile(bob.page, 'ann')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
			await expectMediaFlowing(ann.page, 'Ann receiving Bob');
			await expectMediaFlowing(bob.page, 'Bob receiving Ann');
			await openChat(ann.page);
			await openChat(bob.page);
			await send(ann.page, 'hello from ann');
			await send(bob.page, 'hello from bob');
			await expect.poll(() => texts(bob.page)).toEqual(['hello from ann', 'hello from bob']);
			await expect.poll(() => texts(ann.page)).toEqual(['hello from ann', 'hello from bob']);
		});

		await test.step(`kill -9 of the room's node (${hostId}): media and chat back by themselves`, async () => {
			const before = await Promise.all(people.map((p) => pcCount(p.page)));
			const killedAt = Date.now();
			await host!.kill();
			// Sent while the host is dead: waits in the outbox, delivered once back.
			await send(ann.page, 'while the node was down');
			const back = await Promise.all(
				people.map(async (p, i) => {
					await expect
						.poll(
							async () => {
								const m = await mediaSince(p.page, before[i]!);
								return m.frames > 0 && m.audio > 0;
							},
							{ message: `${p.name}: remote video and audio on a new connection`, timeout: 25_000, intervals: [200] },
						)
						.toBe(true);
					return Date.now() - killedAt;
				}),
			);
			console.log(`[cluster] kill -9 → media back: ${people.map((p, i) => `${p.name} ${back[i]} ms`).join(', ')} (load ${(await import('node:os')).loadavg()[0]!.toFixed(2)})`);
			const survivor = nodes.find((n) => n !== host)!;
			expect(await client.get(`parley:room:{${room}}`), 'the live node hosts the room now').toBe(survivor.id);
			for (const p of people) await expect(p.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
			// And it keeps flowing (not a few frames before another stall).
			for (const [i, p] of people.entries()) {
				const first = await mediaSince(p.page, before[i]!);
				await expect
					.poll(async () => (await mediaSince(p.page, before[i]!)).frames, { message: `${p.name}: remote video keeps decoding after the kill`, timeout: 5000 })
					.toBeGreaterThan(first.frames);
			}
			const expected = ['hello from ann', 'hello from bob', 'while the node was down'];
			await expect.poll(() => texts(bob.page), { timeout: 15_000 }).toEqual(expected);
			await expect.poll(() => texts(ann.page), { timeout: 15_000 }).toEqual(expected);
			await send(bob.page, 'after the kill');
			expected.push('after the kill');
			await expect.poll(() => texts(ann.page)).toEqual(expected);
			await bob.page.waitForTimeout(1000);
			expect(await texts(bob.page), 'no message doubled').toEqual(expected);
		});
		expect([...ann.pageErrors, ...bob.pageErrors]).toEqual([]);
	});
});
