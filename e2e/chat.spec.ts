/**
 * Messaging in the call page, in Chromium: chat between two participants, an outbox that
 * survives going offline (messages arrive exactly once and in order), delivered/read
 * receipts, typing, presence, safe rendering, direct messages and file attachments.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from '@playwright/test';
import { expect as baseExpect, join, leave, test, uniqueRoom } from './fixtures.ts';

// Changes cross two browsers and the server; allow for a busy test machine.
const expect = baseExpect.configure({ timeout: 10_000 });

const shots = fileURLToPath(new URL('./.artifacts/screenshots', import.meta.url));

// ---- In-page shapes (no DOM library in this tsconfig) -------------------------------

interface ElementLike {
	textContent: string | null;
	querySelector(selector: string): ElementLike | null;
	getAttribute(name: string): string | null;
}

// ---- Helpers ---------------------------------------------------------------------------

async function openChat(page: Page): Promise<void> {
	const panel = page.getByTestId('chat-panel');
	if (!(await panel.isVisible())) await page.getByTestId('chat-toggle').click();
	await expect(panel).toBeVisible();
	await page.getByTestId('chat-tab-messages').click();
}

async function closeChat(page: Page): Promise<void> {
	await page.getByTestId('chat-close').click();
	await expect(page.getByTestId('chat-panel')).toBeHidden();
}

async function send(page: Page, text: string): Promise<void> {
	const input = page.getByTestId('chat-input');
	await input.fill(text);
	await input.press('Enter');
	await expect(input).toHaveValue('');
}

/** The text of every message in the list, in order (attachment-only messages give ''). */
function texts(page: Page): Promise<string[]> {
	return page
		.getByTestId('chat-message')
		.evaluateAll((els) => els.map((el) => (el as unknown as ElementLike).querySelector('[data-testid="chat-text"]')?.textContent ?? ''));
}

function attrs(page: Page, name: string): Promise<(string | null)[]> {
	return page.getByTestId('chat-message').evaluateAll((els, n) => els.map((el) => (el as unknown as ElementLike).getAttribute(n)), name);
}

function message(page: Page, text: string): Locator {
	return page.getByTestId('chat-message').filter({ has: page.getByTestId('chat-text').getByText(text, { exact: true }) });
}

function person(page: Page, name: string): Locator {
	return page.locator(`[data-testid="participant"][data-name="${name}"]`);
}

async function showPeople(page: Page): Promise<void> {
	await openChat(page);
	await page.getByTestId('chat-tab-people').click();
	await expect(page.getByTestId('participants')).toBeVisible();
	// From the server's presence snapshot, not only the call's participant list.
	await expect(page.getByTestId('participants')).toHaveAttribute('data-synced', 'true');
}

/** Pretend the page went to the background (or came back): what a hidden tab reports. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
	await page.evaluate((h) => {
		const g = globalThis as unknown as {
			document: { dispatchEvent(event: unknown): boolean };
			Event: new (type: string) => unknown;
		};
		Object.defineProperty(g.document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
		Object.defineProperty(g.document, 'hidden', { configurable: true, get: () => h });
		g.document.dispatchEvent(new g.Event('visibilitychange'));
	}, hidden);
}

// ---- Tests ----------------------------------------------------------------------------

test('two participants chat: offline outbox, exactly once and in order, receipts, typing, presence, safe text', async ({
	participant,
}) => {
	test.setTimeout(240_000);
	const room = uniqueRoom('chat');
	// Chat only: no camera or microphone (two video pipelines slowed every step on 2 cores).
	const alice = await participant('Alice', { noMedia: true });
	const bob = await participant('Bob', { noMedia: true });
	const dialogs: string[] = [];
	for (const p of [alice, bob]) {
		p.page.on('dialog', (dialog) => {
			dialogs.push(dialog.message());
			void dialog.dismiss();
		});
	}

	await join(alice.page, { room, name: 'Alice', waitForPreview: false });
	await join(bob.page, { room, name: 'Bob', waitForPreview: false });

	await test.step('the participants list shows both online', async () => {
		await showPeople(alice.page);
		await expect(person(alice.page, 'Alice')).toHaveAttribute('data-presence', 'online');
		await expect(person(alice.page, 'Bob')).toHaveAttribute('data-presence', 'online');
		await showPeople(bob.page);
		await expect(person(bob.page, 'Alice')).toHaveAttribute('data-presence', 'online');
		await expect(person(bob.page, 'Bob')).toHaveAttribute('data-presence', 'online');
		await openChat(alice.page);
		await openChat(bob.page);
	});

	const expected: string[] = [];
	await test.step('messages reach both sides once each, in order', async () => {
		await send(alice.page, 'Hello Bob');
		expected.push('Hello Bob');
		await expect(message(bob.page, 'Hello Bob')).toHaveCount(1);
		await send(bob.page, 'Hi Alice');
		expected.push('Hi Alice');
		await expect(message(alice.page, 'Hi Alice')).toHaveCount(1);
		await send(alice.page, 'How are you?\nSecond line');
		expected.push('How are you?\nSecond line');
		for (const p of [alice, bob]) await expect.poll(() => texts(p.page)).toEqual(expected);
		// Own messages on the right, with the sender's identity and increasing seqs.
		const aliceId = await message(alice.page, 'Hello Bob').getAttribute('data-from');
		expect(await message(bob.page, 'Hello Bob').getAttribute('data-from')).toBe(aliceId);
		await expect(message(alice.page, 'Hello Bob')).toHaveClass(/\bown\b/);
		await expect(message(bob.page, 'Hello Bob')).not.toHaveClass(/\bown\b/);
		const seqs = (await attrs(bob.page, 'data-seq')).map(Number);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		expect(new Set(seqs).size).toBe(seqs.length);
	});

	await test.step('receipts: delivered while the panel is closed, read once it is open', async () => {
		await closeChat(bob.page);
		await send(alice.page, 'Are you there?');
		expected.push('Are you there?');
		const sent = message(alice.page, 'Are you there?');
		await expect(sent).toHaveAttribute('data-state', 'delivered');
		await expect(sent.getByTestId('chat-ticks')).toHaveAttribute('title', /delivered to 1 of 1/);
		await expect(bob.page.getByTestId('chat-unread')).toHaveText('1');
		await bob.page.screenshot({ path: `${shots}/chat-unread-badge.png` });
		await alice.page.waitForTimeout(500);
		await expect(sent).toHaveAttribute('data-state', 'delivered');
		await openChat(bob.page);
		await expect(sent).toHaveAttribute('data-state', 'read');
		await expect(sent.getByTestId('chat-ticks')).toHaveAttribute('title', /read by 1/);
		await expect(bob.page.getByTestId('chat-unread')).toHaveCount(0);
		await expect(message(alice.page, 'Hello Bob')).toHaveAttribute('data-state', 'read');
	});

	await test.step("Bob's page hidden: he is away, and what he cannot see is not read", async () => {
		await setHidden(bob.page, true);
		await showPeople(alice.page);
		await expect(person(alice.page, 'Bob')).toHaveAttribute('data-presence', 'away');
		await openChat(alice.page);
		await send(alice.page, 'Still there?');
		expected.push('Still there?');
		const sent = message(alice.page, 'Still there?');
		await expect(sent).toHaveAttribute('data-state', 'delivered');
		await alice.page.waitForTimeout(500);
		await expect(sent).toHaveAttribute('data-state', 'delivered');
		await setHidden(bob.page, false);
		await expect(sent).toHaveAttribute('data-state', 'read');
		await showPeople(alice.page);
		await expect(person(alice.page, 'Bob')).toHaveAttribute('data-presence', 'online');
		await openChat(alice.page);
	});

	await test.step('the typing line shows while Alice types, and goes when she stops or sends', async () => {
		const input = alice.page.getByTestId('chat-input');
		const typing = input.pressSequentially('I am typing a sentence', { delay: 150 });
		await expect(bob.page.getByTestId('chat-typing')).toHaveText('Alice is typing…');
		await typing;
		// About 3 s without a key: "stopped typing".
		await expect(bob.page.getByTestId('chat-typing')).toHaveText('');
		await input.pressSequentially(', ok', { delay: 50 });
		await expect(bob.page.getByTestId('chat-typing')).toHaveText('Alice is typing…');
		await input.press('Enter');
		expected.push('I am typing a sentence, ok');
		await expect(bob.page.getByTestId('chat-typing')).toHaveText('');
		await expect(message(bob.page, 'I am typing a sentence, ok')).toHaveCount(1);
	});

	await test.step('markup is shown as text; only http(s) links are links', async () => {
		const xss = '<img src=x onerror=alert(1)>';
		const link = 'Docs: https://example.com/docs?a=1&b=2. Not a link: javascript:alert(1)';
		await send(alice.page, xss);
		await send(alice.page, link);
		expected.push(xss, link);
		await expect(message(bob.page, xss)).toHaveCount(1);
		await expect(message(bob.page, link)).toHaveCount(1);
		await expect(bob.page.locator('[data-testid="chat-message"] img')).toHaveCount(0);
		const anchors = message(bob.page, link).locator('a');
		await expect(anchors).toHaveCount(1);
		await expect(anchors).toHaveAttribute('href', 'https://example.com/docs?a=1&b=2');
		await expect(anchors).toHaveAttribute('rel', 'noopener noreferrer');
		await expect(anchors).toHaveAttribute('target', '_blank');
		await expect(anchors).toHaveText('https://example.com/docs?a=1&b=2');
		expect(dialogs).toEqual([]);
	});

	await test.step('offline: messages wait in the outbox as pending', async () => {
		await alice.context.setOffline(true);
		for (const text of ['offline 1', 'offline 2', 'offline 3']) await send(alice.page, text);
		for (const text of ['offline 1', 'offline 2', 'offline 3']) {
			await expect(message(alice.page, text)).toHaveAttribute('data-state', 'pending');
		}
		// Socket.IO's heartbeat (5 s + 5 s on the test server) notices the dead link.
		await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'reconnecting', { timeout: 20_000 });
		// The chat says so, and that the messages will be sent.
		await expect(alice.page.getByTestId('chat-status')).toHaveAttribute('data-status', 'offline');
		await expect(alice.page.getByTestId('chat-status')).toContainText('will be sent');
		await showPeople(bob.page);
		await expect(person(bob.page, 'Alice')).toHaveAttribute('data-presence', 'reconnecting', { timeout: 15_000 });
		await openChat(bob.page);
		await send(bob.page, 'while you were away');
		expected.push('while you were away');
		for (const text of ['offline 1', 'offline 2', 'offline 3']) {
			await expect(message(alice.page, text)).toHaveAttribute('data-state', 'pending');
		}
		await expect(bob.page.getByText('offline 1')).toHaveCount(0);
	});

	await test.step('back online: the other side gets them exactly once and in order', async () => {
		await alice.context.setOffline(false);
		expected.push('offline 1', 'offline 2', 'offline 3');
		await expect(alice.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 30_000 });
		await expect(alice.page.getByTestId('chat-status')).toHaveCount(0);
		await expect.poll(() => texts(bob.page), { timeout: 20_000 }).toEqual(expected);
		await expect.poll(() => texts(alice.page), { timeout: 20_000 }).toEqual(expected);
		// Nothing trickles in late (a re-sent duplicate would).
		await bob.page.waitForTimeout(1500);
		expect(await texts(bob.page)).toEqual(expected);
		expect(await texts(alice.page)).toEqual(expected);
		const ids = await attrs(bob.page, 'data-id');
		expect(new Set(ids).size).toBe(expected.length);
		expect(await attrs(alice.page, 'data-id')).toEqual(ids);
		// Bob has the panel open on the newest messages: they are read.
		for (const text of ['offline 1', 'offline 2', 'offline 3']) {
			await expect(message(alice.page, text)).toHaveAttribute('data-state', 'read', { timeout: 10_000 });
		}
		await showPeople(bob.page);
		await expect(person(bob.page, 'Alice')).toHaveAttribute('data-presence', 'online');
		await openChat(bob.page);
	});

	await test.step('screenshots with the chat panel open', async () => {
		await alice.page.screenshot({ path: `${shots}/chat-open-desktop.png` });
		await alice.page.setViewportSize({ width: 390, height: 844 });
		await alice.page.waitForTimeout(300);
		await alice.page.screenshot({ path: `${shots}/chat-open-phone.png` });
		await alice.page.setViewportSize({ width: 1280, height: 720 });
		await showPeople(alice.page);
		await alice.page.screenshot({ path: `${shots}/chat-people-desktop.png` });
	});

	await test.step('Bob leaves: the list shows him reconnecting or left', async () => {
		await leave(bob.page);
		await expect(person(alice.page, 'Bob')).toHaveAttribute('data-presence', /^(reconnecting|left)$/, { timeout: 15_000 });
		await expect(person(alice.page, 'Alice')).toHaveAttribute('data-presence', 'online');
	});

	expect(dialogs).toEqual([]);
	expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
});

test('attachments upload with a clear answer and download with the same bytes; direct messages stay private', async ({
	participant,
}) => {
	test.setTimeout(180_000);
	const room = uniqueRoom('files');
	// Chat only: no camera or microphone for anyone.
	const alice = await participant('Alice', { noMedia: true });
	const bob = await participant('Bob', { noMedia: true });
	const carol = await participant('Carol', { noMedia: true });
	await join(alice.page, { room, name: 'Alice', waitForPreview: false });
	await join(bob.page, { room, name: 'Bob', waitForPreview: false });
	await join(carol.page, { room, name: 'Carol', waitForPreview: false });
	for (const p of [alice, bob, carol]) await openChat(p.page);

	const content = Buffer.from('Notes from Alice\nline 2: ünïcödé ✓\n', 'utf8');

	await test.step('Alice attaches a text file and sends it', async () => {
		await alice.page.getByTestId('chat-file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: content });
		await expect(alice.page.getByTestId('chat-upload')).toHaveAttribute('data-state', 'done');
		await alice.page.getByTestId('chat-input').fill('the notes');
		await alice.page.getByTestId('chat-send').click();
		await expect(alice.page.getByTestId('chat-upload')).toHaveCount(0);
	});

	await test.step('Bob sees the attachment and downloads identical bytes', async () => {
		const attachment = message(bob.page, 'the notes').getByTestId('chat-attachment');
		await expect(attachment).toContainText('notes.txt');
		await expect(attachment).toContainText(`${content.length} B`);
		const href = await attachment.getAttribute('href');
		expect(href).toMatch(/^\/api\/rooms\/[^/]+\/files\/[A-Za-z0-9_-]+\?token=/);
		const [download] = await Promise.all([bob.page.waitForEvent('download'), attachment.click()]);
		expect(download.suggestedFilename()).toBe('notes.txt');
		expect(Buffer.compare(await readFile(await download.path()), content)).toBe(0);
		// The same through fetch in the page.
		const fetched = await bob.page.evaluate(async (url) => {
			const g = globalThis as unknown as { fetch(u: string): Promise<{ status: number; arrayBuffer(): Promise<ArrayBuffer> }> };
			const r = await g.fetch(url);
			return { status: r.status, bytes: [...new Uint8Array(await r.arrayBuffer())] };
		}, href!);
		expect(fetched.status).toBe(200);
		expect(Buffer.compare(Buffer.from(fetched.bytes), content)).toBe(0);
	});

	await test.step('a Markdown file (no browser type) is typed by its extension', async () => {
		await alice.page.getByTestId('chat-file-input').setInputFiles({ name: 'readme.md', mimeType: '', buffer: Buffer.from('# Title\n') });
		await expect(alice.page.getByTestId('chat-upload')).toHaveAttribute('data-state', 'done');
		await alice.page.getByTestId('chat-send').click();
		await expect(bob.page.getByTestId('chat-attachment').filter({ hasText: 'readme.md' })).toHaveCount(1);
	});

	await test.step('refused types (415) and files too large (413) are explained', async () => {
		await alice.page.getByTestId('chat-file-input').setInputFiles({
			name: 'tool.exe',
			mimeType: 'application/x-msdownload',
			buffer: Buffer.from('MZ\x90\x00'),
		});
		await expect(alice.page.getByTestId('chat-error')).toContainText('tool.exe: This type of file cannot be attached');
		await expect(alice.page.getByTestId('chat-upload')).toHaveCount(0);
		// From a file on disk: Playwright hands Chromium its path (a 25 MB buffer goes through the
		// protocol as base64, 16 s to a minute here). Its name's .txt makes it text/plain.
		const dir = await mkdtemp(joinPath(tmpdir(), 'parley-e2e-'));
		try {
			const big = joinPath(dir, 'big.txt');
			await writeFile(big, Buffer.alloc(25 * 1024 * 1024 + 1, 0x61));
			await alice.page.getByTestId('chat-file-input').setInputFiles(big);
			await expect(alice.page.getByTestId('chat-error')).toContainText('big.txt: This file is too large', { timeout: 20_000 });
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
		await expect(alice.page.getByTestId('chat-send')).toBeDisabled();
	});

	await test.step('a direct message reaches only its recipient', async () => {
		await alice.page.getByTestId('chat-recipient').selectOption({ label: 'Bob (direct)' });
		await send(alice.page, 'psst, Bob only');
		await expect(message(alice.page, 'psst, Bob only').getByTestId('chat-dm-tag')).toHaveText('Direct to Bob');
		await expect(message(bob.page, 'psst, Bob only').getByTestId('chat-dm-tag')).toHaveText('Direct to you');
		await expect(message(alice.page, 'psst, Bob only')).toHaveAttribute('data-state', 'read');
		await alice.page.getByTestId('chat-recipient').selectOption({ label: 'Everyone' });
		await send(alice.page, 'back to everyone');
		await expect(message(carol.page, 'back to everyone')).toHaveCount(1);
		expect(await texts(carol.page)).not.toContain('psst, Bob only');
		expect(await texts(carol.page)).toEqual(['the notes', '', 'back to everyone']);
		await bob.page.screenshot({ path: `${shots}/chat-files-direct-desktop.png` });
	});

	await test.step('the composer counts characters near the limit and refuses longer text', async () => {
		const input = alice.page.getByTestId('chat-input');
		await input.fill('x'.repeat(3700));
		await expect(alice.page.getByTestId('chat-counter')).toHaveText('3700 / 4000');
		await input.fill('x'.repeat(4001));
		await expect(alice.page.getByTestId('chat-counter')).toContainText('too long');
		await expect(alice.page.getByTestId('chat-send')).toBeDisabled();
		await input.fill('');
	});

	expect([...alice.pageErrors, ...bob.pageErrors, ...carol.pageErrors]).toEqual([]);
});
