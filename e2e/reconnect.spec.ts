import { expect, expectMediaFlowing, join, remoteTile, test, uniqueRoom } from './fixtures.ts';

test('after a network outage the client rejoins by itself and media flows again', async ({ participant }) => {
	test.setTimeout(90_000);
	const room = uniqueRoom('reconnect');
	const alice = await participant('Alice');
	const bob = await participant('Bob');
	await join(alice.page, { room, name: 'Alice' });
	await join(bob.page, { room, name: 'Bob' });
	await expectMediaFlowing(bob.page, 'Bob receiving Alice');

	// Long enough for Socket.IO's heartbeat (5 s + 5 s on the test server) to declare the link dead.
	await alice.context.setOffline(true);
	await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'reconnecting', { timeout: 20_000 });
	await expect(alice.page.getByTestId('connecting')).toContainText('Reconnecting');
	await alice.context.setOffline(false);

	await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 20_000 });
	await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on', { timeout: 5000 });
	await expect(remoteTile(bob.page, 'Alice')).toHaveCount(1, { timeout: 5000 });
	await expect(remoteTile(bob.page, 'Alice')).toHaveAttribute('data-video', 'on', { timeout: 5000 });
	await expectMediaFlowing(alice.page, 'Alice receiving Bob after reconnecting');
	await expectMediaFlowing(bob.page, 'Bob receiving Alice after her reconnect');
	expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
});
