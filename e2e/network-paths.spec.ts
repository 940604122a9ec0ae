/**
 * Networks without UDP: when UDP to the SFU stops mid-call, the client restarts ICE and
 * carries on over ICE-TCP to the worker's TCP port; a participant joining while UDP is
 * blocked connects over TCP from the start. The stats panel says which path is in use.
 *
 * UDP is blocked with an nftables table of the test's own on the SFU's media port
 * (udp-block.ts; needs root and nftables, which `scripts/setup.sh --browser` installs).
 */
import { expect, expectMediaFlowing, join, leave, readInboundStats, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { testMediaPort } from './lossy-proxy.ts';
import { selectedPaths } from './media-helpers.ts';
import { blockUdp, canBlockUdp, type UdpBlock } from './udp-block.ts';
import type { Page } from '@playwright/test';

async function videoKeepsDecoding(page: Page, label: string): Promise<void> {
	const before = (await readInboundStats(page)).video.framesDecoded;
	await expect
		.poll(async () => (await readInboundStats(page)).video.framesDecoded, { message: `${label}: video decodes`, timeout: 20_000 })
		.toBeGreaterThan(before + 10);
}

test('UDP blocked mid-call: ICE restarts onto TCP; a newcomer connects over TCP', async ({ participant }) => {
	test.skip(!canBlockUdp(), 'needs root and nftables to block UDP (scripts/setup.sh --browser)');
	test.setTimeout(90_000);
	const room = uniqueRoom('paths');
	const alice = await participant('Alice');
	const bob = await participant('Bob');
	let block: UdpBlock | null = null;
	try {
		await join(alice.page, { room, name: 'Alice' });
		await join(bob.page, { room, name: 'Bob' });
		await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on');
		await expectMediaFlowing(alice.page, 'Alice receiving Bob');
		// Chromium may first select the TCP pair when its check answers first (a loaded machine)
		// and move to the UDP pair, which mediasoup ranks higher, a moment later: wait for that,
		// then the panel must say so.
		await expect.poll(() => selectedPaths(alice.page), { message: 'both transports settle on UDP', timeout: 10_000 }).toEqual(['udp', 'udp']);
		await alice.page.getByTestId('toggle-stats').click();
		const shownPath = alice.page.getByTestId('stats-path');
		await expect(shownPath, 'the stats panel shows the UDP path').toHaveAttribute('data-path', 'udp');
		await expect(shownPath).toHaveText('UDP');

		await test.step('block UDP to the SFU: both move to TCP and media flows again', async () => {
			const t0 = Date.now();
			block = blockUdp(testMediaPort());
			await expect(shownPath, 'the stats panel shows TCP').toHaveAttribute('data-path', 'tcp', { timeout: 30_000 });
			await expect.poll(() => selectedPaths(alice.page), { timeout: 10_000 }).toEqual(['tcp', 'tcp']);
			await expect.poll(() => selectedPaths(bob.page), { timeout: 30_000 }).toEqual(['tcp', 'tcp']);
			await videoKeepsDecoding(alice.page, 'Alice receiving Bob over TCP');
			await videoKeepsDecoding(bob.page, 'Bob receiving Alice over TCP');
			console.log(`  UDP blocked → both on TCP with video in ${Date.now() - t0} ms`);
			await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
		});

		await test.step('Bob rejoins while UDP is blocked: connects over TCP', async () => {
			await leave(bob.page);
			await join(bob.page, { room, name: 'Bob' });
			await expectMediaFlowing(bob.page, 'Bob receiving Alice (joined over TCP)');
			await videoKeepsDecoding(alice.page, 'Alice receiving the rejoined Bob');
			expect(await selectedPaths(bob.page)).toEqual(['tcp', 'tcp']);
		});
		expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
	} finally {
		(block as UdpBlock | null)?.unblock();
	}
});
