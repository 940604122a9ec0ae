/**
 * The lobby's error paths: a blocked camera keeps the microphone; broken and expired links
 * are told at once in plain words (and do not block joining on a dev server).
 */
import { expect, join, openLobby, readInboundStats, remoteTile, test, uniqueRoom } from './fixtures.ts';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

test('blocking only the camera keeps the microphone, with honest messages and buttons', async ({ participant }) => {
	const room = uniqueRoom('camblock');
	const ann = await participant('Ann', { noCamera: true });
	await openLobby(ann.page, { room, name: 'Ann', waitForPreview: false });
	const page = ann.page;

	const error = page.getByTestId('media-error');
	await expect(error).toHaveCount(1);
	await expect(error).toContainText('Camera access was denied');
	await expect(error).toContainText('You can join with your microphone');
	await expect(error).not.toContainText('microphone access');
	await expect(page.getByTestId('camera-select')).toContainText('Camera blocked');
	await expect(page.getByTestId('mic-select')).not.toContainText('No microphone');
	const mic = page.getByTestId('preview-toggle-mic');
	await expect(mic).toHaveAttribute('data-state', 'on');
	await expect(mic).toHaveAttribute('aria-label', 'Turn microphone off');
	// The first click does what the button says.
	await mic.click();
	await expect(mic).toHaveAttribute('data-state', 'off');
	await expect(mic).toHaveAttribute('aria-label', 'Turn microphone on');
	await mic.click();
	await expect(mic).toHaveAttribute('data-state', 'on');
	await expect(page.getByTestId('preview-toggle-camera')).toHaveAttribute('aria-label', 'Turn camera on');

	// In the call, the others hear her.
	const bob = await participant('Bob');
	await join(bob.page, { room, name: 'Bob' });
	await page.getByTestId('join-button').click();
	await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined');
	await expect(page.getByTestId('toggle-mic')).toHaveAttribute('data-state', 'on');
	await expect(remoteTile(bob.page, 'Ann')).toHaveAttribute('data-video', 'off');
	await expect.poll(async () => (await readInboundStats(bob.page)).audio.packetsReceived, { message: 'Bob receives Ann’s audio' }).toBeGreaterThan(10);
	expect([...ann.pageErrors, ...bob.pageErrors]).toEqual([]);
});

test('broken and expired links are told at once; on a dev server they do not block joining', async ({ participant }) => {
	const room = uniqueRoom('links');
	const p = await participant('Cleo');
	const page = p.page;

	const expired = `${b64({ alg: 'HS256' })}.${b64({ room, name: 'Cleo', sub: 'c', exp: Math.floor(Date.now() / 1000) - 3600 })}.c2ln`;
	await page.goto(`/r/${room}?token=${expired}`);
	await expect(page.getByTestId('link-problem')).toContainText('This meeting link has expired', { timeout: 1000 });
	await expect(page.getByTestId('link-problem')).toContainText('Ask the organizer for a new one');

	// Cut short, as when a chat app wraps a long link.
	await page.goto(`/r/${room}?token=eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoi`);
	const problem = page.getByTestId('link-problem');
	await expect(problem).toContainText('This meeting link is broken', { timeout: 1000 });
	await expect(problem).not.toContainText(/jwt|malformed/i);
	await expect(problem).toContainText('you can still join');
	await page.getByTestId('name-input').fill('Cleo');
	await expect(page.getByTestId('join-button')).toBeEnabled();
	await page.getByTestId('join-button').click();
	await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
	expect(p.pageErrors).toEqual([]);
});
