/**
 * Screen sharing through the UI: the presenter clicks "Share screen" (headless Chromium
 * with the fake-UI flag picks a fake 1920x1080 screen), the viewer gets it as a separate
 * tile in the large slot and decodes it at high resolution; stopping from the button, and
 * the browser's own "Stop sharing" (the capture track ending), remove it again.
 */
import { expect, join, remoteTile, test, uniqueRoom } from './fixtures.ts';
import { inboundFor, readOutboundVideo, tileTrackId } from './media-helpers.ts';

test('screen share: start and stop from the UI; viewers see it large at high resolution', async ({ participant }) => {
	test.setTimeout(90_000);
	const room = uniqueRoom('screen');
	const presenter = await participant('Presenter');
	const viewer = await participant('Viewer');
	await join(presenter.page, { room, name: 'Presenter' });
	await join(viewer.page, { room, name: 'Viewer' });
	await expect(remoteTile(viewer.page, 'Presenter')).toHaveAttribute('data-video', 'on');

	const screenOnViewer = viewer.page.locator('[data-testid="screen-tile"][data-peer-name="Presenter"]');
	const toggle = presenter.page.getByTestId('toggle-screen');

	await test.step('share: the presenter sees their screen, the viewer gets it in the large slot', async () => {
		await expect(toggle).toHaveAttribute('data-state', 'off');
		await toggle.click();
		await expect(toggle).toHaveAttribute('data-state', 'on');
		await expect(presenter.page.locator('[data-testid="screen-tile"][data-local="true"]')).toHaveCount(1);
		await expect(screenOnViewer).toHaveCount(1, { timeout: 5000 });
		await expect(screenOnViewer).toHaveAttribute('data-slot', 'main');
		await expect(viewer.page.getByTestId('grid')).toHaveAttribute('data-main', /^screen:/);
		// The presenter's camera moves to the strip, and is still there.
		await expect(remoteTile(viewer.page, 'Presenter')).toHaveAttribute('data-slot', 'strip');
	});

	await test.step('the viewer decodes the screen at high resolution', async () => {
		const trackId = await tileTrackId(viewer.page, '[data-testid="screen-tile"][data-peer-name="Presenter"]');
		expect(trackId).toBeTruthy();
		await expect
			.poll(async () => (await inboundFor(viewer.page, trackId!))?.frameWidth ?? 0, {
				message: 'screen share decoded at ≥ 1280 px wide',
				timeout: 15_000,
			})
			.toBeGreaterThanOrEqual(1280);
		const a = await inboundFor(viewer.page, trackId!);
		await viewer.page.waitForTimeout(2000);
		const b = await inboundFor(viewer.page, trackId!);
		const fps = ((b!.framesDecoded - a!.framesDecoded) * 1000) / (b!.timestamp - a!.timestamp);
		console.log(`  screen share on the viewer: ${b!.frameWidth}x${b!.frameHeight} at ${fps.toFixed(1)} fps`);
		expect(b!.framesDecoded, 'screen frames keep coming').toBeGreaterThan(a!.framesDecoded);
		// The presenter sends one encoding for the screen, at the capture's size.
		const screenOut = (await readOutboundVideo(presenter.page)).filter((s) => s.rid === '');
		expect(screenOut.length).toBe(1);
		expect(screenOut[0]!.frameWidth).toBeGreaterThanOrEqual(1280);
	});

	await test.step('stop from the button: the viewer goes back to the grid', async () => {
		await toggle.click();
		await expect(toggle).toHaveAttribute('data-state', 'off');
		await expect(screenOnViewer).toHaveCount(0, { timeout: 5000 });
		await expect(viewer.page.getByTestId('grid')).toHaveAttribute('data-layout', 'grid');
		await expect(remoteTile(viewer.page, 'Presenter')).toHaveAttribute('data-slot', 'grid');
	});

	await test.step("share again, then stop from the browser's own control (the capture ends)", async () => {
		await toggle.click();
		await expect(screenOnViewer).toHaveCount(1, { timeout: 5000 });
		await presenter.page.evaluate(() => {
			type Track = { stop(): void; dispatchEvent(event: unknown): boolean };
			type Video = { srcObject: { getVideoTracks(): Track[] } | null };
			const g = globalThis as unknown as { document: { querySelector(s: string): Video | null }; Event: new (type: string) => unknown };
			const track = g.document.querySelector('[data-testid="screen-tile"][data-local="true"] video')?.srcObject?.getVideoTracks()[0];
			if (!track) throw new Error('no local screen track');
			// What the browser does when its "Stop sharing" bar is used.
			track.stop();
			track.dispatchEvent(new g.Event('ended'));
		});
		await expect(toggle).toHaveAttribute('data-state', 'off');
		await expect(screenOnViewer).toHaveCount(0, { timeout: 5000 });
	});

	expect([...presenter.pageErrors, ...viewer.pageErrors]).toEqual([]);
});
