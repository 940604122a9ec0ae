/**
 * Against servers of the test's own: a production server where an invitation link brings a
 * second browser into the call, and a dev server restarted under a running call (the
 * secret is kept in the data folder, so both participants come back by themselves).
 */
import { mintToken } from '../signaling/auth/tokens.ts';
import { expect, expectMediaFlowing, join, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { startOwnServer } from './server.ts';

// Next to the suite's server: E2E_HTTP_PORT + 1.., E2E_MEDIA_PORT + 10..
const HTTP_PORT = Number(process.env.E2E_HTTP_PORT ?? 3217);
const MEDIA_PORT = Number(process.env.E2E_MEDIA_PORT ?? 22170);
const SECRET = 'e2e-production-secret-0123456789abcdef0123';

const readClipboard = (page: import('@playwright/test').Page): Promise<string> =>
	page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());

test('production: the host copies an invitation link; it brings a second browser into the call; a bad link is told', async ({ participant }) => {
	// Three browsers and a server of its own: 38 s in CI, over 60 s on a loaded machine (2026-12-02, load 10).
	test.setTimeout(120_000);
	const server = await startOwnServer({
		httpPort: HTTP_PORT + 1,
		mediaPort: MEDIA_PORT + 10,
		dev: false,
		env: { PARLEY_AUTH_JWT_SECRETS: SECRET },
	});
	try {
		const room = uniqueRoom('invite');
		const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600 };
		const hostToken = mintToken(auth, { room, name: 'Hana', identity: 'hana', role: 'host' }).token;
		const hana = await participant('Hana', { baseURL: server.url });
		await hana.page.goto(`/r/${room}?token=${hostToken}`);
		await expect(hana.page.getByTestId('name-input')).toHaveValue('Hana');
		await hana.page.getByTestId('join-button').click();
		await expect(hana.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });

		await hana.page.getByTestId('copy-link').click();
		await expect(hana.page.getByTestId('copied')).toContainText('copied');
		const link = await readClipboard(hana.page);
		expect(link).toMatch(new RegExp(`^${server.url}/r/${room}\\?invite=`));

		const gus = await participant('Gus', { baseURL: server.url });
		await gus.page.goto(link);
		await expect(gus.page.getByTestId('room-input')).toHaveValue(room);
		await expect(gus.page.getByTestId('token-missing')).toHaveCount(0);
		await gus.page.getByTestId('name-input').fill('Gus');
		// The lobby redeems the invitation for the name typed and prepares the receive connection with its token.
		await gus.page.waitForFunction(
			(name) => (globalThis as unknown as { performance: { getEntriesByName(n: string): unknown[] } }).performance.getEntriesByName(name).length > 0,
			'parley:recv-prepared',
			{ timeout: 10_000, polling: 100 },
		);
		await gus.page.getByTestId('join-button').click();
		await expect(gus.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		const adopted = await gus.page.evaluate(() =>
			(globalThis as unknown as { performance: { getEntries(): { name: string }[] } }).performance.getEntries().some((e) => e.name.startsWith('parley:recv-transport-adopted')),
		);
		expect(adopted, 'the join took the connection prepared in the lobby').toBe(true);
		await expect(remoteTile(hana.page, 'Gus')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
		await expectMediaFlowing(gus.page, 'Gus receiving Hana');

		// The host revokes it: the link now says so in the lobby, at once, and Join is off.
		await hana.page.getByTestId('open-invites').click();
		await expect(hana.page.getByTestId('invite-item')).toHaveCount(1);
		await hana.page.getByTestId('invite-revoke').click();
		await expect(hana.page.getByTestId('invite-item')).toHaveAttribute('data-revoked', 'true');
		await hana.page.keyboard.press('Escape');
		await expect(hana.page.getByTestId('invites-dialog')).toHaveCount(0);
		const late = await participant('Late', { baseURL: server.url });
		await late.page.goto(link);
		await expect(late.page.getByTestId('link-problem')).toContainText('withdrawn by the host');
		await expect(late.page.getByTestId('join-button')).toBeDisabled();

		// A token signed with another secret: not valid here, in plain words.
		const forged = mintToken({ ...auth, jwtSecrets: ['another-secret-0123456789abcdef0123456789'] }, { room, name: 'Eve' }).token;
		await late.page.goto(`/r/${room}?token=${forged}`);
		await expect(late.page.getByTestId('link-problem')).toContainText('is not valid on this server');
		await expect(late.page.getByTestId('join-button')).toBeDisabled();
		expect([...hana.pageErrors, ...gus.pageErrors, ...late.pageErrors]).toEqual([]);
	} finally {
		await server.dispose();
	}
});

test('a dev server restart is a blip: both participants come back by themselves', async ({ participant }) => {
	test.setTimeout(75_000);
	const server = await startOwnServer({ httpPort: HTTP_PORT + 2, mediaPort: MEDIA_PORT + 20, dev: true });
	try {
		const room = uniqueRoom('restart');
		const ann = await participant('Ann', { baseURL: server.url });
		const bob = await participant('Bob', { baseURL: server.url });
		await join(ann.page, { room, name: 'Ann' });
		await join(bob.page, { room, name: 'Bob' });
		await expect(remoteTile(ann.page, 'Bob')).toHaveAttribute('data-video', 'on');

		await server.restart();
		for (const p of [ann, bob]) {
			await expect(p.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 25_000 });
		}
		await expect(remoteTile(ann.page, 'Bob')).toHaveAttribute('data-video', 'on', { timeout: 10_000 });
		await expect(remoteTile(bob.page, 'Ann')).toHaveAttribute('data-video', 'on', { timeout: 10_000 });
		await expect(ann.page.getByTestId('last-error')).toHaveCount(0);
		await expectMediaFlowing(bob.page, 'Bob receiving Ann after the restart');
	} finally {
		await server.dispose();
	}
});
