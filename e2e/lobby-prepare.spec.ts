/**
 * The receive connection prepared in the lobby (client/src/media/preparedReceive.ts) is the
 * server's to keep only while someone may still join with it: it holds the room's cameras at a
 * newcomer's layer. A lobby that goes without joining frees it at once, by telling the server
 * as the page goes (a keepalive request) and, should that not arrive, by the browser's
 * connection closing (DTLS close). The joins that use it are e2e/join-timing.spec.ts.
 */
import type { Page } from '@playwright/test';
import { expect, join, openLobby, test, uniqueRoom } from './fixtures.ts';

/** Untaken prepared transports on the suite's server (its /metrics). */
async function preparedOnServer(page: Page): Promise<number> {
	const text = await (await page.request.get('/metrics')).text();
	const match = /^parley_prepared_transports (\d+)$/m.exec(text);
	if (!match) throw new Error('no parley_prepared_transports in /metrics');
	return Number(match[1]);
}

async function lobbyPrepared(page: Page, room: string, name: string): Promise<void> {
	await openLobby(page, { room, name });
	await page.waitForFunction(
		(mark) => (globalThis as unknown as { performance: { getEntriesByName(n: string): unknown[] } }).performance.getEntriesByName(mark).length > 0,
		'parley:recv-prepared',
		{ timeout: 10_000, polling: 100 },
	);
}

test('a lobby left without joining frees its prepared connection at once', async ({ participant }) => {
	const room = uniqueRoom('lobby-prepare');
	const host = await participant('Host');
	await join(host.page, { room, name: 'Host' });
	const base = await preparedOnServer(host.page);

	await test.step('the lobby goes to another page: released as it goes', async () => {
		const guest = await participant('Guest');
		await lobbyPrepared(guest.page, room, 'Guest');
		expect(await preparedOnServer(host.page)).toBe(base + 1);
		const left = Date.now();
		await guest.page.goto('about:blank');
		await expect.poll(() => preparedOnServer(host.page), { timeout: 5000, intervals: [100] }).toBe(base);
		console.log(`  prepared connection freed ${Date.now() - left} ms after the lobby went`);
	});

	await test.step('the lobby tab closes and its release never arrives: its connection closing frees it', async () => {
		const other = await participant('Other');
		await other.page.route('**/api/media/prepare/release', (route) => route.abort());
		await lobbyPrepared(other.page, room, 'Other');
		expect(await preparedOnServer(host.page)).toBe(base + 1);
		const left = Date.now();
		await other.page.close();
		await expect.poll(() => preparedOnServer(host.page), { timeout: 5000, intervals: [100] }).toBe(base);
		console.log(`  prepared connection freed ${Date.now() - left} ms after the tab closed (no release request)`);
	});
	expect(host.pageErrors).toEqual([]);
});
