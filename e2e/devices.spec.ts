/**
 * Devices mid-call: Chromium with fake cameras and three fake microphones (real
 * capture). Chromium's second fake camera (fake_device_1) delivers a depth format (Y16)
 * that the encoder never sends, so it is kept hidden; fake_device_2 (MJPEG) is the other
 * camera. Alice switches microphone and camera from the control bar; Bob keeps receiving
 * on the same consumers (the producers stay; no renegotiation on Alice's side). A camera
 * plugged in shows up in the list at once; one unplugged mid-call is replaced by the other
 * and Alice is told so, never asked to reload. Muting right as the call starts (the
 * microphone still being published) reaches Bob.
 *
 * Plugging and unplugging cannot be done to Chromium's fake devices, so a page-level stub
 * hides a device from enumerateDevices/getUserMedia and ends its live tracks (what the
 * browser does when a device is pulled), then fires `devicechange`.
 */
import type { Page } from '@playwright/test';
import { expect, join, localTile, readInboundStats, remoteTile, test, uniqueRoom } from './fixtures.ts';
import config from './playwright.config.ts';

const base = config.use?.launchOptions;
test.use({
	launchOptions: {
		...base,
		args: [...(base?.args ?? []).filter((a) => !a.startsWith('--use-fake-device-for-media-stream')), '--use-fake-device-for-media-stream=fps=30,device-count=3'],
	},
});

interface StubGlobals {
	__unplugged: Set<string>;
	__negotiations: number;
	__unplug(label: string): void;
	__plugIn(label: string): void;
}

/** Init script (runs in the page): device plug/unplug, and a count of local SDP negotiations. */
function deviceStub(): void {
	const g = globalThis as unknown as StubGlobals & {
		navigator: { mediaDevices: EventTarget & { enumerateDevices(): Promise<{ deviceId: string; label: string }[]>; getUserMedia(c: unknown): Promise<{ getTracks(): (EventTarget & { label: string; readyState: string; stop(): void })[] }> } };
		RTCPeerConnection: { prototype: { setLocalDescription(...a: unknown[]): Promise<void> } };
		DOMException: new (message: string, name: string) => Error;
	};
	const md = g.navigator.mediaDevices;
	if (!md || g.__unplugged) return;
	g.__unplugged = new Set();
	g.__negotiations = 0;
	const live: (EventTarget & { label: string; readyState: string; stop(): void })[] = [];
	const enumerate = md.enumerateDevices.bind(md);
	const getUserMedia = md.getUserMedia.bind(md);
	md.enumerateDevices = async () => (await enumerate()).filter((d) => !g.__unplugged.has(d.label));
	md.getUserMedia = async (constraints: unknown) => {
		const text = JSON.stringify(constraints);
		for (const d of await enumerate()) {
			if (g.__unplugged.has(d.label) && d.deviceId && text.includes(d.deviceId)) {
				throw new g.DOMException('Requested device not found', 'NotFoundError');
			}
		}
		const stream = await getUserMedia(constraints);
		live.push(...stream.getTracks());
		return stream;
	};
	g.__unplug = (label) => {
		g.__unplugged.add(label);
		for (const track of live) {
			if (track.label !== label || track.readyState !== 'live') continue;
			track.stop();
			track.dispatchEvent(new Event('ended'));
		}
		md.dispatchEvent(new Event('devicechange'));
	};
	g.__plugIn = (label) => {
		g.__unplugged.delete(label);
		md.dispatchEvent(new Event('devicechange'));
	};
	const sld = g.RTCPeerConnection.prototype.setLocalDescription;
	g.RTCPeerConnection.prototype.setLocalDescription = function (this: unknown, ...args: unknown[]) {
		g.__negotiations++;
		return sld.apply(this, args);
	};
}

const negotiations = (page: Page): Promise<number> => page.evaluate(() => (globalThis as unknown as StubGlobals).__negotiations);

/** The id of the track a media element plays (the consumer's track on the receiving side). */
function playedTrack(page: Page, selector: string): Promise<string> {
	return page.locator(selector).first().evaluate((el) => {
		const stream = (el as unknown as { srcObject: { getTracks(): { id: string; label: string }[] } | null }).srcObject;
		return stream?.getTracks()[0]?.id ?? '';
	});
}

function localCameraLabel(page: Page): Promise<string> {
	return localTile(page).locator('video').evaluate((el) => {
		const stream = (el as unknown as { srcObject: { getTracks(): { label: string }[] } | null }).srcObject;
		return stream?.getTracks()[0]?.label ?? '';
	});
}

/** Bob keeps decoding Alice's video (frames go up over a second). */
async function expectVideoKeepsComing(bob: Page, label: string): Promise<void> {
	const before = (await readInboundStats(bob)).video.framesDecoded;
	await expect
		.poll(async () => (await readInboundStats(bob)).video.framesDecoded, { message: `${label}: Bob keeps decoding Alice's video`, timeout: 8000 })
		.toBeGreaterThan(before + 10);
}

test('devices mid-call: switch microphone and camera without renegotiating, follow plug and unplug, mute while publishing', async ({ participant }) => {
	test.setTimeout(60_000);
	const room = uniqueRoom('devices');
	const bob = await participant('Bob');
	const alice = await participant('Alice');
	await alice.context.addInitScript(deviceStub);
	await join(bob.page, { room, name: 'Bob' });
	const page = alice.page;
	const aliceOnBob = remoteTile(bob.page, 'Alice');

	await test.step('muting at once, while the microphone is still being published: Bob sees Alice muted', async () => {
		await page.goto(`/r/${room}`);
		await page.evaluate(() => {
			const g = globalThis as unknown as StubGlobals;
			g.__unplug('fake_device_1');
			g.__unplug('fake_device_2');
		});
		await page.getByTestId('name-input').fill('Alice');
		await expect(page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
		await page.getByTestId('join-button').click();
		await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await page.getByTestId('toggle-mic').click();
		await expect(page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'off');
		await expect(aliceOnBob).toHaveAttribute('data-video', 'on', { timeout: 10_000 });
		await expect(aliceOnBob).toHaveAttribute('data-audio', 'muted');
		await page.waitForTimeout(1000);
		await expect(aliceOnBob, 'still muted once the producer exists').toHaveAttribute('data-audio', 'muted');
		await page.getByTestId('toggle-mic').click();
		await expect(aliceOnBob).toHaveAttribute('data-audio', 'on');
	});

	await test.step('microphone switched from the control bar: Bob keeps the same audio consumer, no renegotiation', async () => {
		await expect.poll(async () => (await readInboundStats(bob.page)).audio.packetsReceived).toBeGreaterThan(0);
		const audioTrack = await playedTrack(bob.page, '[data-testid="remote-audio"]');
		// Joining may still be negotiating (the camera's producer, a consumer): count from a quiet
		// second, so that what is counted after is the switch's.
		let negotiated = await negotiations(page);
		for (const quietBy = Date.now() + 8000; Date.now() < quietBy; ) {
			await page.waitForTimeout(1000);
			const now = await negotiations(page);
			if (now === negotiated) break;
			negotiated = now;
		}
		await page.getByTestId('microphone-menu').click();
		const select = page.getByTestId('call-mic-select');
		await expect(select.locator('option')).toHaveCount(3);
		const target = await select.locator('option', { hasText: 'Fake Audio Input 1' }).getAttribute('value');
		await select.selectOption({ label: 'Fake Audio Input 1' });
		await expect(select).toHaveValue(target!);
		await expect(page.getByTestId('call-speaker-select')).toBeVisible();
		await page.keyboard.press('Escape');
		await expect(page.getByTestId('microphone-menu-panel')).toHaveCount(0);
		const before = (await readInboundStats(bob.page)).audio.packetsReceived;
		await expect.poll(async () => (await readInboundStats(bob.page)).audio.packetsReceived, { message: 'Bob still hears Alice' }).toBeGreaterThan(before + 20);
		expect(await playedTrack(bob.page, '[data-testid="remote-audio"]'), 'same audio consumer on Bob').toBe(audioTrack);
		expect(await negotiations(page), 'no renegotiation on Alice').toBe(negotiated);
		expect(await page.evaluate(() => localStorage.getItem('parley.microphoneId'))).toBe(target);
	});

	await test.step('a camera plugged in appears in the list; switching to it keeps Bob decoding on the same consumer', async () => {
		await page.getByTestId('camera-menu').click();
		const select = page.getByTestId('call-camera-select');
		await expect(select.locator('option')).toHaveCount(1);
		await page.evaluate(() => (globalThis as unknown as StubGlobals).__plugIn('fake_device_2'));
		await expect(select.locator('option')).toHaveCount(2);
		const videoTrack = await playedTrack(bob.page, '[data-testid="tile"][data-local="false"] video');
		const negotiated = await negotiations(page);
		await select.selectOption({ label: 'fake_device_2' });
		await expect.poll(() => localCameraLabel(page)).toBe('fake_device_2');
		await expectVideoKeepsComing(bob.page, 'after the switch');
		expect(await playedTrack(bob.page, '[data-testid="tile"][data-local="false"] video'), 'same video consumer on Bob').toBe(videoTrack);
		expect(await negotiations(page), 'no renegotiation on Alice').toBe(negotiated);
		await page.keyboard.press('Escape');
	});

	await test.step('the camera in use is unplugged: the other one takes over, Alice is told, nothing asks to reload', async () => {
		await page.evaluate(() => (globalThis as unknown as StubGlobals).__unplug('fake_device_2'));
		const notice = page.getByTestId('notice');
		await expect(notice).toContainText('camera (fake_device_2) was disconnected. Now using fake_device_0');
		await expect(notice).not.toContainText(/reload/i);
		await expect.poll(() => localCameraLabel(page)).toBe('fake_device_0');
		await expect(page.getByTestId('toggle-camera')).toHaveAttribute('data-state', 'on');
		await expect(aliceOnBob).toHaveAttribute('data-video', 'on');
		await expectVideoKeepsComing(bob.page, 'after the unplug');
	});

	await test.step('the choices are remembered for the next visit', async () => {
		await page.evaluate(() => (globalThis as unknown as StubGlobals).__plugIn('fake_device_2'));
		const cameraId = await page.evaluate(() => localStorage.getItem('parley.cameraId'));
		const microphoneId = await page.evaluate(() => localStorage.getItem('parley.microphoneId'));
		await page.goto(`/r/${room}`);
		await expect(page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
		await expect(page.getByTestId('camera-select')).toHaveValue(cameraId!);
		await expect(page.getByTestId('mic-select')).toHaveValue(microphoneId!);
	});
	expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
});
