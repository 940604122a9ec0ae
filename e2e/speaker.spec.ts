/**
 * Active speaker and audio levels: two participants with a steady tone as their
 * microphone take turns (the other one muted); a third, listening, sees the one talking
 * highlighted (mediasoup's ActiveSpeakerObserver → speaker:active), large in the speaker
 * layout, and their level meter moving (Web Audio on the received track).
 */
import type { Page } from '@playwright/test';
import { expect, join, openLobby, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { withFakeAudioFile } from './media-helpers.ts';
import config from './playwright.config.ts';

test.use({ launchOptions: withFakeAudioFile(config.use?.launchOptions) });

async function peerId(page: Page): Promise<string> {
	const id = await page.locator('[data-testid="tile"][data-local="true"]').getAttribute('data-peer-id');
	if (!id) throw new Error('no local peer id');
	return id;
}

test('the active speaker is highlighted and shown large; level meters follow the audio', async ({ participant }) => {
	test.setTimeout(90_000);
	const room = uniqueRoom('speaker');
	const alice = await participant('Alice');
	const bob = await participant('Bob');
	const listener = await participant('Listener', { noMedia: true });
	await join(alice.page, { room, name: 'Alice' });
	await join(bob.page, { room, name: 'Bob' });
	await openLobby(listener.page, { room, name: 'Listener', waitForPreview: false });
	await listener.page.getByTestId('join-button').click();
	await expect(listener.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
	const aliceId = await peerId(alice.page);
	const bobId = await peerId(bob.page);

	const aliceOnListener = remoteTile(listener.page, 'Alice');
	const bobOnListener = remoteTile(listener.page, 'Bob');
	await expect(aliceOnListener).toHaveAttribute('data-video', 'on');
	await expect(bobOnListener).toHaveAttribute('data-video', 'on');

	await test.step('Alice talks (Bob muted): she is the active speaker everywhere', async () => {
		await bob.page.getByTestId('toggle-mic').click();
		await expect(bobOnListener).toHaveAttribute('data-audio', 'muted');
		await expect(aliceOnListener).toHaveAttribute('data-active-speaker', 'true', { timeout: 10_000 });
		await expect(bobOnListener).toHaveAttribute('data-active-speaker', 'false');
		await expect(remoteTile(bob.page, 'Alice')).toHaveAttribute('data-active-speaker', 'true');
		// Alice sees herself as the speaker too.
		await expect(alice.page.locator('[data-testid="tile"][data-local="true"]')).toHaveAttribute('data-active-speaker', 'true');
	});

	await test.step('level meters: Alice’s tile moves on the listener’s view and on her own', async () => {
		await expect(aliceOnListener.getByTestId('audio-level')).toHaveAttribute('data-speaking', 'true', { timeout: 5000 });
		await expect(alice.page.locator('[data-testid="tile"][data-local="true"] [data-testid="audio-level"]')).toHaveAttribute(
			'data-speaking',
			'true',
			{ timeout: 5000 },
		);
		// Bob is muted: no meter, the muted icon instead.
		await expect(bobOnListener.getByTestId('audio-level')).toHaveCount(0);
		await expect(bobOnListener.getByTestId('mic-muted')).toBeVisible();
	});

	await test.step('speaker layout: the active speaker is the large tile', async () => {
		await listener.page.getByTestId('toggle-layout').click();
		await expect(listener.page.getByTestId('grid')).toHaveAttribute('data-main', `camera:${aliceId}`);
		await expect(aliceOnListener).toHaveAttribute('data-slot', 'main');
		await expect(bobOnListener).toHaveAttribute('data-slot', 'strip');
	});

	await test.step('Bob takes over (Alice muted): the highlight and the large tile follow', async () => {
		await alice.page.getByTestId('toggle-mic').click();
		await bob.page.getByTestId('toggle-mic').click();
		await expect(bobOnListener).toHaveAttribute('data-active-speaker', 'true', { timeout: 10_000 });
		await expect(aliceOnListener).toHaveAttribute('data-active-speaker', 'false');
		await expect(listener.page.getByTestId('grid')).toHaveAttribute('data-main', `camera:${bobId}`);
		await expect(bobOnListener).toHaveAttribute('data-slot', 'main');
		await expect(bobOnListener.getByTestId('audio-level')).toHaveAttribute('data-speaking', 'true', { timeout: 5000 });
	});

	expect([...alice.pageErrors, ...bob.pageErrors, ...listener.pageErrors]).toEqual([]);
});
