/**
 * Networks without UDP: when UDP to the SFU stops mid-call, the client restarts ICE and
 * carries on over ICE-TCP to the worker's TCP port; a participant joining while UDP is
 * blocked connects over TCP from the start. The stats panel says which path is in use.
 *
 * UDP is blocked with an nftables table of the test's own on the SFU's media port
 * (udp-block.ts; needs root and nftables, which `scripts/setup.sh --browser` installs).
 */
import { expect, expectMediaFlowing, join, leave, readInboundStats, remoteTile, test, uniqueRoom, type PageGlobals, type StatsEntry } from './fixtures.ts';
import { testMediaPort } from './lossy-proxy.ts';
import { blockUdp, canBlockUdp, type UdpBlock } from './udp-block.ts';
import type { Page } from '@playwright/test';

/** The protocols of the selected candidate pairs of the page's open peer connections ("udp", "tcp", "relay"). */
async function paths(page: Page): Promise<string[]> {
	return page.evaluate(async () => {
		const out: string[] = [];
		for (const pc of (globalThis as unknown as PageGlobals).__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			const entries = new Map<string, StatsEntry>();
			(await pc.getStats()).forEach((e) => entries.set(String(e.id), e));
			for (const e of entries.values()) {
				if (e.type !== 'transport' || typeof e.selectedCandidatePairId !== 'string') continue;
				const local = entries.get(String(entries.get(e.selectedCandidatePairId)?.localCandidateId));
				if (local) out.push(local.candidateType === 'relay' ? 'relay' : String(local.protocol));
			}
		}
		return out.sort();
	});
}

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
		await alice.page.getByTestId('toggle-stats').click();
		const shownPath = alice.page.getByTestId('stats-path');
		await expect(shownPath, 'the stats panel shows the UDP path').toHaveAttribute('data-path', 'udp');
		await expect(shownPath).toHaveText('UDP');
		expect(await paths(alice.page)).toEqual(['udp', 'udp']);

		await test.step('block UDP to the SFU: both move to TCP and media flows again', async () => {
			const t0 = Date.now();
			block = blockUdp(testMediaPort());
			await expect(shownPath, 'the stats panel shows TCP').toHaveAttribute('data-path', 'tcp', { timeout: 30_000 });
			await expect.poll(() => paths(alice.page), { timeout: 10_000 }).toEqual(['tcp', 'tcp']);
			await expect.poll(() => paths(bob.page), { timeout: 30_000 }).toEqual(['tcp', 'tcp']);
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
			expect(await paths(bob.page)).toEqual(['tcp', 'tcp']);
		});
		expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
	} finally {
		(block as UdpBlock | null)?.unblock();
	}
});
