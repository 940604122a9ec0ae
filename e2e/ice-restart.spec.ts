/**
 * ICE restart: a media-only outage (the participant's UDP path to the SFU is cut for
 * several seconds while signaling stays up) makes its transports go 'disconnected'; the
 * client restarts ICE (after 2 s, then again while the path stays down) and, once the
 * path is back, media flows again without a rejoin: the call never leaves 'joined' and
 * the peer connections are the same ones.
 */
import { expect, expectMediaFlowing, join, readInboundStats, remoteTile, test, uniqueRoom, type PageGlobals } from './fixtures.ts';
import { testMediaPort, useProxyFor } from './lossy-proxy.ts';

const OUTAGE_MS = 6000;

test('a media path outage of several seconds recovers by ICE restart, without rejoining', async ({ participant }) => {
	test.setTimeout(90_000);
	const room = uniqueRoom('ice');
	const alice = await participant('Alice');
	const bob = await participant('Bob');
	const proxy = await useProxyFor(alice.context, testMediaPort());
	try {
		await join(alice.page, { room, name: 'Alice' });
		await join(bob.page, { room, name: 'Bob' });
		await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on');
		await expectMediaFlowing(alice.page, 'Alice receiving Bob');
		await expectMediaFlowing(bob.page, 'Bob receiving Alice');
		const pcCount = async (): Promise<number> =>
			alice.page.evaluate(() => ((globalThis as unknown as PageGlobals).__parleyTestPcs ?? []).length);
		const pcsBefore = await pcCount();
		const restarts = async (): Promise<number> =>
			alice.page.evaluate(
				() =>
					(
						globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string }[] } }
					).performance
						.getEntriesByType('mark')
						.filter((m) => m.name.startsWith('parley:ice-restart-')).length,
			);

		await test.step(`cut Alice's media path for ${OUTAGE_MS / 1000} s: ICE restarts while it is down`, async () => {
			proxy.set({ lossPercent: 100 });
			await expect.poll(restarts, { message: 'ICE restarted', timeout: OUTAGE_MS + 4000 }).toBeGreaterThan(0);
			await alice.page.waitForTimeout(Math.max(0, OUTAGE_MS - 4000));
			// Signaling was never affected: no rejoin.
			await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
		});

		await test.step('restore the path: media flows again on the same peer connections', async () => {
			const restoredAt = Date.now();
			proxy.set({ lossPercent: 0 });
			await expect
				.poll(
					async () =>
						alice.page.evaluate(() =>
							((globalThis as unknown as PageGlobals).__parleyTestPcs ?? [])
								.filter((pc) => pc.connectionState !== 'closed')
								.every((pc) => pc.connectionState === 'connected'),
						),
					{ message: 'transports connected again', timeout: 20_000 },
				)
				.toBe(true);
			const connectedMs = Date.now() - restoredAt;
			const decodedBefore = (await readInboundStats(alice.page)).video.framesDecoded;
			await expect
				.poll(async () => (await readInboundStats(alice.page)).video.framesDecoded, { message: 'video decodes again', timeout: 15_000 })
				.toBeGreaterThan(decodedBefore + 5);
			console.log(
				`  after the path came back: connected in ${connectedMs} ms, video again in ${Date.now() - restoredAt} ms; ${await restarts()} ICE restart(s)`,
			);
			await expectMediaFlowing(alice.page, 'Alice receiving Bob after the outage');
			await expectMediaFlowing(bob.page, 'Bob receiving Alice after the outage');
			expect(await pcCount(), 'no new peer connections (no rejoin)').toBe(pcsBefore);
			await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
		});
		expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
	} finally {
		proxy.close();
	}
});
