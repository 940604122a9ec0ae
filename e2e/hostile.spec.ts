/**
 * One hostile participant cannot hurt the meeting: a bot (a raw Socket.IO client with a
 * real join token) tries to publish producers that once broke every subscriber's receive
 * connection (audio kind with a VP8 codec, a bloated codec parameter, an unknown header
 * extension, RTX not tied to the media codec). Each is refused, and the browsers keep
 * receiving everyone else: after a camera is re-published and when someone joins later.
 * The page also runs under its strict CSP without a violation, cannot be framed, and
 * takes the join token out of the address bar.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { expect, expectMediaFlowing, join, remoteTile, test, uniqueRoom } from './fixtures.ts';

type Answer = { ok: boolean; error?: { code: string; message: string }; data?: Record<string, unknown> };

/** Runs in the page: keeps every CSP violation report in globalThis.__csp. */
function recordCspViolations(): void {
	const list: string[] = [];
	const g = globalThis as unknown as {
		__csp: string[];
		addEventListener(type: string, listener: (e: { violatedDirective: string; blockedURI: string }) => void): void;
	};
	g.__csp = list;
	g.addEventListener('securitypolicyviolation', (e) => list.push(`${e.violatedDirective} ${e.blockedURI}`));
}

test('a hostile publisher cannot stop media for the room; strict CSP, no framing, token out of the address bar', async ({
	participant,
	baseURL,
}) => {
	test.setTimeout(90_000);
	const room = uniqueRoom('hostile');
	const alice = await participant('Alice');
	const bob = await participant('Bob');
	for (const p of [alice, bob]) await p.context.addInitScript(recordCspViolations);
	await join(alice.page, { room, name: 'Alice' });
	await join(bob.page, { room, name: 'Bob' });
	await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on');
	await expect(remoteTile(bob.page, 'Alice')).toHaveAttribute('data-video', 'on');

	const mint = async (name: string): Promise<string> => {
		const res = await fetch(`${baseURL}/api/dev/token`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ room, name }),
		});
		return ((await res.json()) as { token: string }).token;
	};

	await test.step('the bot’s bad producers are refused', async () => {
		const bot: Socket = connect(baseURL!, { auth: { token: await mint('Mallory') }, transports: ['websocket'], forceNew: true, reconnection: false });
		const ask = (event: string, payload: unknown): Promise<Answer> =>
			(bot.timeout(5000).emitWithAck as unknown as (e: string, p: unknown) => Promise<Answer>)(event, payload);
		try {
			await new Promise<void>((resolve, reject) => {
				bot.once('connect', () => resolve());
				bot.once('connect_error', reject);
			});
			const caps = await ask('media:getRouterRtpCapabilities', {});
			expect((await ask('room:join', { rtpCapabilities: caps.data!.rtpCapabilities })).ok).toBe(true);
			const send = await ask('media:createTransport', { direction: 'send' });
			const transportId = send.data!.id as string;
			const vp8 = { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }] };
			const opus = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };
			const base = (ssrc: number) => ({ mid: '0', headerExtensions: [], encodings: [{ ssrc }], rtcp: { cname: 'bot' } });
			const bad: [string, 'audio' | 'video', string, unknown][] = [
				['audio kind, VP8 codec', 'audio', 'microphone', { ...base(1), codecs: [vp8] }],
				['150 kB codec parameter', 'audio', 'microphone', { ...base(2), codecs: [{ ...opus, parameters: { junk: 'x'.repeat(150_000) } }] }],
				['unknown header extension', 'video', 'camera', { ...base(3), codecs: [vp8], headerExtensions: [{ uri: 'urn:evil:ext', id: 5 }] }],
				[
					'RTX not tied to the media codec',
					'video',
					'camera',
					{
						...base(4),
						codecs: [vp8, { mimeType: 'video/rtx', payloadType: 102, clockRate: 90000, parameters: { apt: 77 } }],
						encodings: [{ ssrc: 4, rtx: { ssrc: 40 } }],
					},
				],
			];
			for (const [label, kind, source, rtpParameters] of bad) {
				const answer = await ask('media:produce', { transportId, kind, source, rtpParameters });
				expect(answer.ok, label).toBe(false);
				expect(answer.error?.code, label).toBe('bad_request');
			}
		} finally {
			bot.disconnect();
		}
	});

	await test.step('a re-published camera still reaches the others', async () => {
		await bob.page.getByTestId('toggle-camera').click();
		await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'off');
		await bob.page.getByTestId('toggle-camera').click();
		await expect(remoteTile(alice.page, 'Bob')).toHaveAttribute('data-video', 'on', { timeout: 10_000 });
		await expectMediaFlowing(alice.page, 'Alice after the attack');
	});

	await test.step('someone joining later (from an invitation link) receives everyone; the token leaves the address bar', async () => {
		const carol = await participant('Carol');
		await carol.context.addInitScript(recordCspViolations);
		await carol.page.goto(`/r/${room}?token=${encodeURIComponent(await mint('Carol'))}`);
		await expect(carol.page).not.toHaveURL(/token=/);
		await carol.page.getByTestId('join-button').click();
		await expect(carol.page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
		await expect(carol.page).toHaveURL(new RegExp(`/r/${room}$`));
		await expect(remoteTile(carol.page, 'Alice')).toHaveAttribute('data-video', 'on', { timeout: 10_000 });
		await expect(remoteTile(carol.page, 'Bob')).toHaveAttribute('data-video', 'on');
		await expectMediaFlowing(carol.page, 'Carol');
		for (const p of [alice, bob, carol]) {
			expect(await p.page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp), `${p.name}: CSP violations`).toEqual([]);
			expect(p.pageErrors).toEqual([]);
		}
	});

	await test.step('the page is served with a strict CSP and cannot be framed', async () => {
		const res = await fetch(`${baseURL}/r/${room}`);
		const csp = res.headers.get('content-security-policy') ?? '';
		expect(csp).toContain("script-src 'self'");
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).not.toContain('unsafe-inline');
		expect(res.headers.get('x-frame-options')).toBe('DENY');
		expect(res.headers.get('referrer-policy')).toBe('no-referrer');
	});
});
