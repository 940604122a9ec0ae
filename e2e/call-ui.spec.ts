/**
 * The call page as a keyboard user meets it, checked with axe on every screen (lobby, call,
 * chat, dialog, left screen), with screenshots of each in e2e/.artifacts/screenshots/.
 */
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, join, readInboundStats, remoteTile, test, uniqueRoom } from './fixtures.ts';

const shots = fileURLToPath(new URL('./.artifacts/screenshots', import.meta.url));

/** No serious or critical WCAG 2.1 A/AA violation on what the page shows now. */
async function expectAccessible(page: Page, where: string, include?: string): Promise<void> {
	// Legacy mode: axe.run in the page itself, without the blank page that aggregates results
	// across cross-origin frames (the app has no frames). The same rules and results (checked:
	// the same passes, incomplete and inapplicable counts), in 2.5 s instead of 5 to 10 here.
	let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).setLegacyMode(true);
	if (include) builder = builder.include(include);
	const { violations } = await builder.analyze();
	const bad = violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
	expect(bad, `${where}: axe violations`).toEqual([]);
}

test('keyboard only: join, mute (with the muted-while-talking hint), chat, shortcuts, leave and rejoin; no serious axe violation anywhere', async ({ participant }) => {
	test.setTimeout(150_000);
	const room = uniqueRoom('keys');
	const [bob, kim] = await Promise.all([participant('Bob'), participant('Kim')]);
	await join(bob.page, { room, name: 'Bob' });
	const page = kim.page;

	await test.step('lobby: type the name, Enter joins', async () => {
		await page.goto(`/r/${room}`);
		await expect(page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
		await expect(page.getByTestId('name-input')).toBeFocused();
		await page.keyboard.type('Kim');
		await expectAccessible(page, 'lobby');
		await page.screenshot({ path: `${shots}/lobby-desktop.png` });
		await page.keyboard.press('Enter');
		await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(remoteTile(page, 'Bob')).toHaveAttribute('data-video', 'on');
		// Bob hears Kim before she mutes (muting while her producer is still being created works too: Publisher applies it once the producer exists).
		await expect.poll(async () => (await readInboundStats(bob.page)).audio.packetsReceived, { message: 'Bob hears Kim' }).toBeGreaterThan(0);
	});

	await test.step('M mutes, ? shows the shortcuts, Esc closes them', async () => {
		await expect(page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'on');
		await page.keyboard.press('m');
		await expect(page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'off');
		await expect(remoteTile(bob.page, 'Kim').getByTestId('mic-muted')).toBeVisible();
		// The fake microphone keeps beeping: she "talks" while muted, and is told so.
		await expect(page.getByTestId('muted-hint')).toBeVisible({ timeout: 8000 });
		await expect(page.getByTestId('muted-hint')).toContainText('You are muted');
		await page.screenshot({ path: `${shots}/call-desktop.png` });
		await page.keyboard.press('Shift+Slash');
		const dialog = page.getByTestId('shortcuts-dialog');
		await expect(dialog).toBeVisible();
		await expect(dialog).toContainText('Mute or unmute');
		await expectAccessible(page, 'shortcuts dialog');
		await page.screenshot({ path: `${shots}/shortcuts-dialog.png` });
		await page.keyboard.press('Escape');
		await expect(dialog).toHaveCount(0);
	});

	await test.step('C opens the chat at the composer; Esc returns to the chat button', async () => {
		await page.keyboard.press('c');
		await expect(page.getByTestId('chat-panel')).toBeVisible();
		await expect(page.locator('.chat-panel textarea')).toBeFocused();
		await page.keyboard.type('hi');
		await page.keyboard.press('Enter');
		await expect(bob.page.getByTestId('chat-toggle')).toContainText('1');
		await expectAccessible(page, 'call page with the chat open');
		await page.screenshot({ path: `${shots}/chat-desktop.png` });
		await page.keyboard.press('Escape');
		await expect(page.getByTestId('chat-panel')).toBeHidden();
		await expect(page.getByTestId('chat-toggle')).toBeFocused();
	});

	await test.step('the participant count is a button that lists the participants', async () => {
		await page.getByTestId('participant-count').focus();
		await page.keyboard.press('Enter');
		await expect(page.getByTestId('chat-panel')).toContainText('Bob');
		await page.keyboard.press('Escape');
	});

	await test.step('Tab to Leave, Enter: the "you left" screen; Enter on Rejoin: back in the call', async () => {
		await page.getByTestId('chat-toggle').focus();
		await page.keyboard.press('Tab');
		await expect(page.getByTestId('leave')).toBeFocused();
		await page.keyboard.press('Enter');
		await expect(page.getByTestId('left-page')).toBeVisible();
		await expect(page.getByTestId('rejoin')).toBeFocused();
		await expect(remoteTile(bob.page, 'Kim')).toHaveCount(0);
		await expectAccessible(page, 'left screen');
		await page.screenshot({ path: `${shots}/left-desktop.png` });
		await page.keyboard.press('Enter');
		await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(remoteTile(bob.page, 'Kim')).toHaveCount(1);
		// Rejoined as she left: microphone still muted, camera on.
		await expect(page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'off');
		await expect(remoteTile(bob.page, 'Kim')).toHaveAttribute('data-video', 'on');
	});

	await test.step('phone: five controls, the rest behind More; toasts at the top', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await expect(page.getByTestId('more-controls')).toBeVisible();
		await expect(page.locator('.controls > .control, .controls > .more-controls')).toHaveCount(5);
		await page.screenshot({ path: `${shots}/call-phone.png` });
		await page.getByTestId('more-controls').click();
		await expect(page.getByTestId('copy-link')).toBeVisible();
		await page.screenshot({ path: `${shots}/call-phone-more.png` });
		await page.getByTestId('copy-link').click();
		await expect(page.getByTestId('copied')).toBeVisible();
		const toast = await page.getByTestId('copied').boundingBox();
		expect(toast!.y, 'the toast is at the top, away from the tile names').toBeLessThan(200);
	});
	expect([...kim.pageErrors, ...bob.pageErrors]).toEqual([]);
});
