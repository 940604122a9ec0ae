import {
	expect,
	expectMediaFlowing,
	join,
	leave,
	localTile,
	openLobby,
	readInboundStats,
	remoteTile,
	remoteTiles,
	test,
	uniqueRoom,
} from './fixtures.ts';

test('two participants see and hear each other; mute, camera and leave reach the other side', async ({ participant, baseURL }) => {
	const room = uniqueRoom('call');
	const alice = await participant('Alice');
	const bob = await participant('Bob');

	await test.step('both join through the lobby', async () => {
		await join(alice.page, { room, name: 'Alice' });
		await join(bob.page, { room, name: 'Bob' });
	});

	const aliceOnBob = remoteTile(bob.page, 'Alice');
	const bobOnAlice = remoteTile(alice.page, 'Bob');

	await test.step('each sees the other tile and their own', async () => {
		await expect(aliceOnBob).toHaveCount(1, { timeout: 2000 });
		await expect(bobOnAlice).toHaveCount(1, { timeout: 2000 });
		await expect(localTile(alice.page)).toHaveAttribute('data-peer-name', 'Alice');
		await expect(localTile(bob.page)).toHaveAttribute('data-peer-name', 'Bob');
		await expect(aliceOnBob).toHaveAttribute('data-video', 'on');
		await expect(bobOnAlice).toHaveAttribute('data-video', 'on');
		await expect(aliceOnBob.locator('video')).toHaveCount(1);
		await expect(aliceOnBob.locator('video')).toHaveAttribute('muted', '');
		// Sound comes from a separate, unmuted <audio> element.
		expect(await bob.page.locator('audio[data-testid="remote-audio"]').evaluate((a) => (a as unknown as { muted: boolean }).muted)).toBe(false);
		await expect(aliceOnBob.getByTestId('mic-muted')).toHaveCount(0);
		await expect(bob.page.locator('audio[data-testid="remote-audio"]')).toHaveCount(1);
	});

	await test.step('video decodes and audio arrives on both sides', async () => {
		const onBob = await expectMediaFlowing(bob.page, 'Bob receiving Alice');
		const onAlice = await expectMediaFlowing(alice.page, 'Alice receiving Bob');
		console.log(
			`  decoded width: Bob sees Alice at ${onBob.second.video.frameWidth}px, Alice sees Bob at ${onAlice.second.video.frameWidth}px`,
		);
	});

	await test.step("the operator's /metrics has the browsers' round-trip times (their receiver reports)", async () => {
		const rtt = async (): Promise<{ count: number; sum: number }> => {
			const text = await (await bob.page.request.get('/metrics')).text();
			const value = (name: string) => Number(text.match(new RegExp(`^parley_peer_rtt_seconds_${name} (\\S+)$`, 'm'))?.[1] ?? 0);
			return { count: value('count'), sum: value('sum') };
		};
		await expect.poll(async () => (await rtt()).count, { message: 'RTT measured', timeout: 10_000 }).toBeGreaterThan(0);
		const { count, sum } = await rtt();
		expect(sum / count, 'mean RTT on loopback (s)').toBeLessThan(0.5);
	});

	await test.step("muting Alice's microphone shows the muted icon on Bob's view", async () => {
		await alice.page.getByTestId('toggle-mic').click();
		await expect(alice.page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'off');
		await expect(aliceOnBob.getByTestId('mic-muted')).toBeVisible({ timeout: 2000 });
		await expect(aliceOnBob).toHaveAttribute('data-audio', 'muted');
		await alice.page.getByTestId('toggle-mic').click();
		await expect(aliceOnBob.getByTestId('mic-muted')).toHaveCount(0, { timeout: 2000 });
	});

	await test.step("turning Alice's camera off turns Bob's tile of her off, and back on", async () => {
		await alice.page.getByTestId('toggle-camera').click();
		await expect(alice.page.getByTestId('toggle-camera')).toHaveAttribute('data-state', 'off');
		await expect(aliceOnBob).toHaveAttribute('data-video', 'off', { timeout: 2000 });
		await expect(localTile(alice.page)).toHaveAttribute('data-video', 'off');
		await alice.page.getByTestId('toggle-camera').click();
		await expect(aliceOnBob).toHaveAttribute('data-video', 'on', { timeout: 3000 });
		await expectMediaFlowing(bob.page, 'Bob receiving Alice after her camera came back');
	});

	await test.step('the copy-link button copies the room link', async () => {
		await bob.page.getByTestId('copy-link').click();
		await expect(bob.page.getByTestId('copied')).toContainText('copied');
		const copied = await bob.page.evaluate(() =>
			(globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText(),
		);
		expect(copied).toBe(`${baseURL}/r/${room}`);
	});

	await test.step("Alice leaves and Bob's grid updates", async () => {
		await leave(alice.page);
		await expect(aliceOnBob).toHaveCount(0, { timeout: 2000 });
		await expect(remoteTiles(bob.page)).toHaveCount(0);
		await expect(bob.page.locator('audio[data-testid="remote-audio"]')).toHaveCount(0);
		await expect(bob.page.getByTestId('alone-hint')).toBeVisible();
	});

	expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
});

test('a participant without camera and microphone can still join to watch and listen', async ({ participant }) => {
	const room = uniqueRoom('watch');
	const host = await participant('Host');
	const viewer = await participant('Viewer', { noMedia: true });

	await join(host.page, { room, name: 'Host' });
	await openLobby(viewer.page, { room, name: 'Viewer', waitForPreview: false });
	await expect(viewer.page.getByTestId('media-error').first()).toContainText(/denied/i);
	await viewer.page.getByTestId('join-button').click();
	await expect(viewer.page.getByTestId('call')).toHaveAttribute('data-status', 'joined');

	await expect(remoteTile(viewer.page, 'Host')).toHaveAttribute('data-video', 'on');
	await expectMediaFlowing(viewer.page, 'Viewer receiving Host');

	const viewerOnHost = remoteTile(host.page, 'Viewer');
	await expect(viewerOnHost).toHaveCount(1, { timeout: 2000 });
	await expect(viewerOnHost).toHaveAttribute('data-video', 'off');
	await expect(viewerOnHost.getByTestId('mic-muted')).toBeVisible();
	// The host receives nothing from the viewer.
	const stats = await readInboundStats(host.page);
	expect(stats.video.streams + stats.audio.streams).toBe(0);
});

test('an invalid invitation token is reported in the lobby, before Join (dev mode still lets one join)', async ({ participant }) => {
	const guest = await participant('Guest');
	await guest.page.goto('/r/some-room?token=not-a-valid-token');
	await expect(guest.page.getByTestId('link-problem')).toContainText(/broken/i);
	await guest.page.getByTestId('name-input').fill('Guest');
	await expect(guest.page.getByTestId('join-button')).toBeEnabled();
});

test('changed router capabilities (stale in the lobby, as after a server upgrade) still give a working call', async ({ participant }) => {
	const room = uniqueRoom('caps');
	const host = await participant('Host');
	const guest = await participant('Guest');
	await join(host.page, { room, name: 'Host' });

	// A first visit stores the router capabilities; make them stale (as after a server upgrade),
	// both those kept from the earlier visit and those the lobby gets from GET /api/info.
	await join(guest.page, { room, name: 'Guest' });
	await leave(guest.page);
	type Caps = { codecs: unknown[] };
	await guest.page.evaluate(() => {
		const storage = (globalThis as unknown as { localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void } })
			.localStorage;
		const caps = JSON.parse(storage.getItem('parley.routerRtpCapabilities') ?? 'null') as Caps | null;
		if (!caps) throw new Error('no cached capabilities');
		caps.codecs = caps.codecs.slice(0, -1);
		storage.setItem('parley.routerRtpCapabilities', JSON.stringify(caps));
	});
	let staleInfo = 0;
	await guest.page.route('**/api/info', async (route) => {
		const response = await route.fetch();
		const info = (await response.json()) as { rtpCapabilities?: Caps };
		if (!info.rtpCapabilities) throw new Error('GET /api/info gave no router capabilities');
		info.rtpCapabilities.codecs = info.rtpCapabilities.codecs.slice(0, -1);
		staleInfo++;
		await route.fulfill({ response, json: info });
	});
	await guest.page.reload();

	await join(guest.page, { room, name: 'Guest' });
	const changed = await guest.page.evaluate(
		() =>
			(globalThis as unknown as { performance: { getEntriesByName(n: string): unknown[] } }).performance.getEntriesByName(
				'parley:capabilities-changed',
			).length,
	);
	expect(staleInfo, 'the lobby asked GET /api/info').toBeGreaterThan(0);
	expect(changed, 'the client noticed the changed capabilities').toBe(1);
	await expect(remoteTile(guest.page, 'Host')).toHaveAttribute('data-video', 'on');
	await expectMediaFlowing(guest.page, 'Guest receiving Host');
	await expect(remoteTile(host.page, 'Guest')).toHaveCount(1);
	await expect(remoteTile(host.page, 'Guest')).toHaveAttribute('data-video', 'on');
	await expectMediaFlowing(host.page, 'Host receiving Guest');
});
