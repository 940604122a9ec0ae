/**
 * Running a meeting in real Chromium: the first to arrive is host (dev mode); a raised
 * hand reaches the host; the host mutes someone (their UI shows it, their audio stops
 * arriving at the others), removes someone (their page says so; the same link cannot get
 * back in), admits one knocker and denies another from the waiting room, and ends the
 * meeting for everyone. One room, browsers shared across the phases.
 */
import type { Page } from '@playwright/test';
import { expect, join, openLobby, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { readInbound } from './media-helpers.ts';

function member(page: Page, name: string) {
	return page.getByTestId('member').filter({ hasText: name });
}

/** Audio packets received from one remote person (their <audio> element's track). */
async function audioPacketsFrom(page: Page, name: string): Promise<number> {
	const tile = remoteTile(page, name);
	const peerId = await tile.getAttribute('data-peer-id');
	const trackId = await page
		.locator(`audio[data-testid="remote-audio"][data-peer-id="${peerId}"]`)
		.evaluate((a) => {
			const stream = (a as unknown as { srcObject: { getAudioTracks(): { id: string }[] } | null }).srcObject;
			return stream?.getAudioTracks()[0]?.id ?? '';
		});
	const stream = (await readInbound(page)).find((s) => s.trackIdentifier === trackId);
	return stream?.packetsReceived ?? 0;
}

test('host controls: hand, mute, remove, waiting room admit and deny, end for all', async ({ participant, request }) => {
	// About 60 s on a quiet machine; the phases wait for real media, so a loaded one needs more.
	test.setTimeout(150_000);
	const room = uniqueRoom('mod');
	// The host needs no camera or microphone here (nothing checks her media): one video
	// pipeline less on the machine makes every phase faster.
	const [hana, ann, bob] = await Promise.all([participant('Hana', { noMedia: true }), participant('Ann'), participant('Bob')]);
	for (const p of [hana, ann, bob]) p.page.on('dialog', (d) => void d.accept());

	await test.step('the first to arrive is host and is told so', async () => {
		await join(hana.page, { room, name: 'Hana', waitForPreview: false });
		await expect(hana.page.getByTestId('meeting-toast').filter({ hasText: 'You are the host' })).toBeVisible();
		// Ann and Bob come in at the same time.
		await Promise.all([
			join(ann.page, { room, name: 'Ann' }),
			(async () => {
				// Bob comes in with an invitation link (a token), to try that same link again later.
				const minted = await request.post('/api/dev/token', { data: { room, name: 'Bob', identity: 'bob-e2e' } });
				const { token } = (await minted.json()) as { token: string };
				await bob.page.goto(`/r/${room}?token=${encodeURIComponent(token)}`);
				await expect(bob.page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
				await bob.page.getByTestId('join-button').click();
				await expect(bob.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
			})(),
		]);
		await hana.page.getByTestId('toggle-participants').click();
		await expect(hana.page.getByTestId('member')).toHaveCount(3);
		await expect(member(hana.page, 'Hana')).toHaveAttribute('data-role', 'host');
		await expect(member(hana.page, 'Ann')).toHaveAttribute('data-role', 'participant');
	});

	await test.step('a raised hand is seen by the host, in order', async () => {
		await bob.page.getByTestId('toggle-hand').click();
		await ann.page.getByTestId('toggle-hand').click();
		await expect(hana.page.getByTestId('hand')).toHaveText([/Bob/, /Ann/]);
		await expect(remoteTile(hana.page, 'Bob').getByTestId('tile-hand')).toHaveText(/1/);
		await expect(member(hana.page, 'Ann')).toHaveAttribute('data-hand', '2');
		await ann.page.getByTestId('toggle-hand').click();
		await expect(hana.page.getByTestId('hand')).toHaveText([/Bob/]);
	});

	await test.step("the host mutes Ann: her UI shows it and her audio stops arriving at Bob", async () => {
		await expect.poll(() => audioPacketsFrom(bob.page, 'Ann'), { timeout: 10_000 }).toBeGreaterThan(0);
		await expect(member(hana.page, 'Ann')).toHaveAttribute('data-mic', 'on');
		await member(hana.page, 'Ann').getByTestId('host-mute').click();
		await expect(ann.page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'off');
		await expect(ann.page.getByTestId('meeting-toast').filter({ hasText: 'muted your microphone' })).toBeVisible();
		await expect(remoteTile(bob.page, 'Ann')).toHaveAttribute('data-audio', 'muted');
		await expect(member(hana.page, 'Ann')).toHaveAttribute('data-mic', 'off');
		await bob.page.waitForTimeout(300); // packets in flight
		const before = await audioPacketsFrom(bob.page, 'Ann');
		await bob.page.waitForTimeout(1000);
		expect(await audioPacketsFrom(bob.page, 'Ann'), 'no audio from Ann after the host muted her').toBe(before);
	});

	await test.step('the host removes Bob: his page says so and the same link cannot get back in', async () => {
		await member(hana.page, 'Bob').getByTestId('host-remove').click();
		await expect(bob.page.getByTestId('last-error')).toContainText('removed you');
		await expect(hana.page.getByTestId('member')).toHaveCount(2);
		await bob.page.getByTestId('join-button').click();
		await expect(bob.page.getByTestId('last-error').or(bob.page.getByTestId('join-error'))).toContainText('removed you');
		await expect(bob.page.getByTestId('call')).toHaveCount(0);
	});

	await test.step('waiting room: one knocker admitted, another denied', async () => {
		const [cara, dave] = await Promise.all([participant('Cara'), participant('Dave', { noMedia: true })]);
		// Cara's lobby is ready before the waiting room is on: it prepared her connection with the
		// meeting's media (she would have gone straight in), so her join goes out without waiting
		// to be told; the server puts her in the waiting room all the same.
		await openLobby(cara.page, { room, name: 'Cara' });
		await cara.page.waitForFunction(() => performance.getEntriesByName('parley:recv-prepared').length > 0, undefined, { polling: 100 });
		// A controlled checkbox: it shows the server's answer (meeting:state), not the click itself.
		await hana.page.getByTestId('setting-waiting-room').click();
		await expect(hana.page.getByTestId('setting-waiting-room')).toBeChecked();
		// Both knock at the same time.
		await Promise.all([
			(async () => {
				await cara.page.getByTestId('join-button').click();
				await expect(cara.page.getByTestId('waiting-screen')).toBeVisible();
				await expect(cara.page.getByTestId('waiting-screen').locator('video')).toHaveCount(1); // her own preview
			})(),
			(async () => {
				await openLobby(dave.page, { room, name: 'Dave', waitForPreview: false });
				await dave.page.getByTestId('join-button').click();
				await expect(dave.page.getByTestId('waiting-screen')).toBeVisible();
			})(),
		]);
		await expect(hana.page.getByTestId('waiting-person')).toHaveCount(2);
		// Nobody waiting receives media: no remote tiles, no peer connection receiving anything.
		expect((await readInbound(cara.page)).length).toBe(0);

		await hana.page.getByTestId('waiting-person').filter({ hasText: 'Cara' }).getByTestId('admit').click();
		await expect(cara.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(cara.page.getByTestId('waiting-screen')).toHaveCount(0);
		await expect(remoteTile(cara.page, 'Hana')).toHaveCount(1);
		await hana.page.getByTestId('waiting-person').filter({ hasText: 'Dave' }).getByTestId('deny').click();
		await expect(dave.page.getByTestId('last-error')).toContainText('did not let you in');
		await expect(hana.page.getByTestId('waiting-person')).toHaveCount(0);

		await test.step('the host ends the meeting for everyone', async () => {
			await hana.page.getByTestId('host-end').click();
			for (const page of [ann.page, cara.page]) {
				await expect(page.getByTestId('last-error')).toContainText('ended the meeting for everyone');
			}
			await expect(hana.page.getByTestId('call')).toHaveCount(0);
		});
		for (const p of [hana, ann, bob, cara, dave]) expect(p.pageErrors).toEqual([]);
	});
});
