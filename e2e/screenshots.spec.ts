/**
 * Screenshots of the lobby and of a two-person call, desktop and phone sized, for looking
 * at the UI. Opt-in: `E2E_SCREENSHOTS=1 npm run test:e2e -- screenshots`.
 * Output: e2e/.artifacts/screenshots/*.png
 */
import { fileURLToPath } from 'node:url';
import { expect, expectMediaFlowing, join, openLobby, remoteTile, test, uniqueRoom } from './fixtures.ts';

const dir = fileURLToPath(new URL('./.artifacts/screenshots', import.meta.url));

test.skip(!process.env.E2E_SCREENSHOTS, 'set E2E_SCREENSHOTS=1 to take screenshots');

test('lobby and call screenshots', async ({ participant }) => {
	const room = uniqueRoom('design-review');
	const alice = await participant('Alice Johnson');
	const bob = await participant('Bob');

	await openLobby(alice.page, { room, name: 'Alice Johnson' });
	await alice.page.waitForTimeout(500);
	await alice.page.screenshot({ path: `${dir}/join-desktop.png` });

	await alice.page.getByTestId('join-button').click();
	await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
	await alice.page.waitForTimeout(300);
	await alice.page.screenshot({ path: `${dir}/call-alone-desktop.png` });

	await join(bob.page, { room, name: 'Bob' });
	await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on');
	await expectMediaFlowing(alice.page, 'Alice receiving Bob');
	await alice.page.screenshot({ path: `${dir}/call-two-desktop.png` });

	await bob.page.getByTestId('toggle-mic').click();
	await bob.page.getByTestId('toggle-camera').click();
	await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'off');
	await expect(remoteTile(alice.page, 'Bob').getByTestId('mic-muted')).toBeVisible();
	await alice.page.waitForTimeout(300);
	await alice.page.screenshot({ path: `${dir}/call-two-camera-off-desktop.png` });
	await bob.page.screenshot({ path: `${dir}/call-two-self-off-desktop.png` });

	await alice.page.setViewportSize({ width: 390, height: 844 });
	await alice.page.waitForTimeout(400);
	await alice.page.screenshot({ path: `${dir}/call-two-phone.png` });

	const carol = await participant('Carol');
	await carol.page.setViewportSize({ width: 390, height: 844 });
	await openLobby(carol.page, { room, name: 'Carol' });
	await carol.page.waitForTimeout(500);
	await carol.page.screenshot({ path: `${dir}/join-phone.png`, fullPage: true });
});
