/**
 * Test fixtures: each participant is its own browser context (own storage, own fake
 * devices) with an init script that records every RTCPeerConnection the page creates,
 * so that tests can read WebRTC stats without the app exposing anything.
 *
 * The in-page functions below run in the browser; this project's tsconfig for e2e has
 * no DOM library, so they use the small structural types declared here.
 */
import { test as base, expect, type BrowserContext, type Locator, type Page } from '@playwright/test';

export { expect };

// ---- In-page shapes ----------------------------------------------------------------

export interface StatsEntry {
	type: string;
	kind?: string;
	[key: string]: unknown;
}

interface RecordedPeerConnection {
	connectionState: string;
	signalingState: string;
	iceConnectionState: string;
	iceGatheringState: string;
	getTransceivers(): unknown[];
	getStats(): Promise<{ forEach(callback: (entry: StatsEntry) => void): void }>;
}

export interface PageGlobals {
	__parleyTestPcs?: RecordedPeerConnection[];
	performance: { getEntriesByType(type: 'mark'): { name: string; startTime: number }[] };
	RTCPeerConnection: new (...args: unknown[]) => object;
}

/** Init script: wrap RTCPeerConnection so that every instance is kept in a list. */
export function recordPeerConnections(): void {
	const g = globalThis as unknown as PageGlobals;
	if (g.__parleyTestPcs) return;
	const Native = g.RTCPeerConnection;
	const pcs: RecordedPeerConnection[] = [];
	g.__parleyTestPcs = pcs;
	class RecordingPeerConnection extends Native {
		constructor(...args: unknown[]) {
			super(...args);
			pcs.push(this as unknown as RecordedPeerConnection);
		}
	}
	g.RTCPeerConnection = RecordingPeerConnection;
}

/** Init script for a participant without camera and microphone: getUserMedia is refused. */
export function denyMediaDevices(): void {
	const nav = (globalThis as unknown as { navigator: { mediaDevices?: { getUserMedia: (...a: unknown[]) => Promise<unknown> } } })
		.navigator;
	if (!nav.mediaDevices) return;
	const DomException = (globalThis as unknown as { DOMException: new (message: string, name: string) => Error }).DOMException;
	nav.mediaDevices.getUserMedia = () => Promise.reject(new DomException('Permission denied', 'NotAllowedError'));
}

/**
 * Init script: the camera is blocked, the microphone allowed. The fake-UI flag answers every
 * prompt with yes (even over a denied permission), so the refusal is made here, the way
 * Chromium answers when the camera is blocked: NotAllowedError for any request with video.
 */
export function denyCamera(): void {
	const nav = (globalThis as unknown as { navigator: { mediaDevices?: { getUserMedia: (c?: { video?: unknown }) => Promise<unknown> } } })
		.navigator;
	if (!nav.mediaDevices) return;
	const DomException = (globalThis as unknown as { DOMException: new (message: string, name: string) => Error }).DOMException;
	const original = nav.mediaDevices.getUserMedia.bind(nav.mediaDevices);
	nav.mediaDevices.getUserMedia = (constraints) =>
		constraints?.video ? Promise.reject(new DomException('Permission denied', 'NotAllowedError')) : original(constraints);
}

// ---- Fixtures ------------------------------------------------------------------------

export interface Participant {
	name: string;
	context: BrowserContext;
	page: Page;
	/** Uncaught page errors, to assert there were none. */
	pageErrors: string[];
}

export interface ParticipantOptions {
	/** Refuse camera and microphone (a watch-and-listen participant). */
	noMedia?: boolean;
	/** Refuse the camera only. */
	noCamera?: boolean;
	/** Another server than the suite's (its base URL). */
	baseURL?: string;
}

type Fixtures = {
	/** Creates a participant (a new browser context and page); all are closed after the test. */
	participant: (name: string, options?: ParticipantOptions) => Promise<Participant>;
};

export const test = base.extend<Fixtures>({
	participant: async ({ browser, baseURL }, use) => {
		const contexts: BrowserContext[] = [];
		await use(async (name, options = {}) => {
			const url = options.baseURL ?? baseURL;
			const context = await browser.newContext({
				...(url ? { baseURL: url } : {}),
				viewport: { width: 1280, height: 720 },
				permissions: options.noMedia
					? []
					: options.noCamera
						? ['microphone', 'clipboard-read', 'clipboard-write']
						: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
			});
			contexts.push(context);
			await context.addInitScript(recordPeerConnections);
			if (options.noMedia) await context.addInitScript(denyMediaDevices);
			if (options.noCamera) await context.addInitScript(denyCamera);
			const page = await context.newPage();
			const pageErrors: string[] = [];
			page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
			page.on('console', (message) => {
				// The client's own warnings (a stalled video made again, a failed negotiation) are rare and
				// say what recovered: always shown, so a run's log tells what a passing test went through.
				if (message.type() === 'warning' && message.text().startsWith('[parley]')) console.log(`[${name}] ${message.text()}`);
				else if (message.type() === 'error' && process.env.E2E_VERBOSE) console.log(`[${name}] ${message.text()}`);
			});
			return { name, context, page, pageErrors };
		});
		await Promise.all(contexts.map((context) => context.close().catch(() => {})));
	},
});

// ---- UI helpers ----------------------------------------------------------------------

export function uniqueRoom(prefix: string): string {
	return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface JoinOptions {
	room: string;
	name: string;
	/** Wait for the camera preview before joining (default true; false for participants without media). */
	waitForPreview?: boolean;
}

/** Open the room link, type the name and click Join, through the real lobby UI. */
export async function openLobby(page: Page, { room, name, waitForPreview = true }: JoinOptions): Promise<void> {
	await page.goto(`/r/${encodeURIComponent(room)}`);
	await expect(page.getByTestId('room-input')).toHaveValue(room);
	await page.getByTestId('name-input').fill(name);
	await expect(page.getByTestId('join-button')).toBeEnabled();
	if (waitForPreview) await expect(page.getByTestId('preview')).toHaveAttribute('data-video', 'on');
}

export async function join(page: Page, options: JoinOptions): Promise<void> {
	await openLobby(page, options);
	await page.getByTestId('join-button').click();
	await expect(page.getByTestId('call')).toHaveAttribute('data-status', 'joined', { timeout: 10_000 });
}

/** Leave the call, then go from the "you left" screen back to the lobby. */
export async function leave(page: Page): Promise<void> {
	await page.getByTestId('leave').click();
	await expect(page.getByTestId('left-page')).toBeVisible();
	await page.getByTestId('back-to-lobby').click();
	await expect(page.getByTestId('join-button')).toBeVisible();
}

export function remoteTiles(page: Page): Locator {
	return page.locator('[data-testid="tile"][data-local="false"]');
}

export function remoteTile(page: Page, name: string): Locator {
	return page.locator(`[data-testid="tile"][data-local="false"][data-peer-name="${name.replace(/"/g, '\\"')}"]`);
}

export function localTile(page: Page): Locator {
	return page.locator('[data-testid="tile"][data-local="true"]');
}

// ---- WebRTC stats --------------------------------------------------------------------

export interface KindStats {
	/** inbound-rtp entries of this kind in open peer connections. */
	streams: number;
	packetsReceived: number;
	bytesReceived: number;
	framesDecoded: number;
	/** The largest decoded width among the streams (video). */
	frameWidth: number;
	frameHeight: number;
}

export interface InboundStats {
	audio: KindStats;
	video: KindStats;
}

/** Sums of the inbound-rtp stats of the page's open peer connections, per kind. */
export async function readInboundStats(page: Page): Promise<InboundStats> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		const zero = (): KindStats => ({
			streams: 0,
			packetsReceived: 0,
			bytesReceived: 0,
			framesDecoded: 0,
			frameWidth: 0,
			frameHeight: 0,
		});
		const out: InboundStats = { audio: zero(), video: zero() };
		for (const pc of g.__parleyTestPcs ?? []) {
			if (pc.connectionState === 'closed') continue;
			const report = await pc.getStats();
			report.forEach((entry) => {
				if (entry.type !== 'inbound-rtp') return;
				const kind = entry.kind === 'audio' ? out.audio : out.video;
				kind.streams += 1;
				kind.packetsReceived += Number(entry.packetsReceived ?? 0);
				kind.bytesReceived += Number(entry.bytesReceived ?? 0);
				kind.framesDecoded += Number(entry.framesDecoded ?? 0);
				kind.frameWidth = Math.max(kind.frameWidth, Number(entry.frameWidth ?? 0));
				kind.frameHeight = Math.max(kind.frameHeight, Number(entry.frameHeight ?? 0));
			});
		}
		return out;
	});
}

/** Every peer connection of the page and its inbound streams, one line each (for a failure's message). */
export async function describeInbound(page: Page): Promise<string> {
	return page.evaluate(async () => {
		const g = globalThis as unknown as PageGlobals;
		const lines: string[] = [];
		for (const [i, pc] of (g.__parleyTestPcs ?? []).entries()) {
			lines.push(`pc${i} ${pc.connectionState} signaling=${pc.signalingState} ice=${pc.iceConnectionState}/${pc.iceGatheringState} transceivers=${pc.getTransceivers().length}`);
			if (pc.connectionState === 'closed') continue;
			const report = await pc.getStats();
			report.forEach((e) => {
				if (e.type !== 'inbound-rtp' && e.type !== 'outbound-rtp') return;
				const keys = ['kind', 'mid', 'rid', 'ssrc', 'packetsReceived', 'packetsLost', 'framesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesSent', 'pliCount', 'firCount', 'nackCount'];
				lines.push(`  ${e.type} ${keys.filter((k) => e[k] !== undefined).map((k) => `${k}=${String(e[k])}`).join(' ')}`);
			});
		}
		// The SFU's view (dev servers only): is each consumer paused, which layer, how many packets.
		const dom = globalThis as unknown as {
			location: { pathname: string };
			document: { querySelectorAll(selector: string): Iterable<{ dataset: Record<string, string | undefined> }> };
		};
		const room = decodeURIComponent(dom.location.pathname.split('/r/')[1] ?? '');
		try {
			const res = await fetch(`/api/dev/rooms/${encodeURIComponent(room)}/media-stats`);
			const body = (await res.json()) as { peers?: { name: string; producers: { kind: string; stats: Record<string, unknown>[] }[]; consumers: { kind: string; paused: boolean; layers: unknown; stats: Record<string, unknown>[] }[] }[] };
			for (const peer of body.peers ?? []) {
				for (const p of peer.producers) lines.push(`sfu ${peer.name} produces ${p.kind}: ${p.stats.map((e) => `${String(e.rid ?? '')}#${String(e.packetCount)}`).join(' ')}`);
				for (const c of peer.consumers)
					lines.push(`sfu ${peer.name} consumes ${c.kind} paused=${c.paused} layers=${JSON.stringify(c.layers)} ${c.stats.map((e) => `${String(e.type)}#${String(e.packetCount)}`).join(' ')}`);
			}
		} catch (error) {
			lines.push(`sfu stats unavailable: ${String(error)}`);
		}
		// The client's own marks (ms since the first): how far the join got.
		const marks = g.performance.getEntriesByType('mark').filter((m) => m.name.startsWith('parley:'));
		const t0 = marks[0]?.startTime ?? 0;
		lines.push(`marks ${marks.map((m) => `${m.name.slice('parley:'.length)}@${Math.round(m.startTime - t0)}`).join(' ')}`);
		for (const t of dom.document.querySelectorAll('[data-testid="tile"]')) {
			lines.push(`tile ${t.dataset.peerName ?? ''} local=${t.dataset.local ?? ''} video=${t.dataset.video ?? ''}`);
		}
		return lines.join('\n');
	});
}

/** Two samples a second or more apart: remote video decodes (and has a size) and audio packets arrive. */
export async function expectMediaFlowing(page: Page, label: string): Promise<{ first: InboundStats; second: InboundStats }> {
	try {
		await expect
			.poll(async () => (await readInboundStats(page)).video.framesDecoded, { message: `${label}: first remote video frame`, timeout: 10_000 })
			.toBeGreaterThan(0);
	} catch (error) {
		// Say which hop stopped: the connection, the packets, or the decoder.
		console.log(`${label}: no remote video frame; inbound state:\n${await describeInbound(page)}`);
		throw error;
	}
	const first = await readInboundStats(page);
	await page.waitForTimeout(1000);
	let second = await readInboundStats(page);
	// Loosened (was: more frames exactly 1 s later): right after a camera is published again, a
	// viewer decoded 5 frames and then none for over a second (the SFU moving to another layer,
	// waiting for its keyframe) in 2 of about 10 full runs here; more frames within 3 s now.
	const deadline = Date.now() + 2000;
	while (second.video.framesDecoded <= first.video.framesDecoded && Date.now() < deadline) {
		await page.waitForTimeout(250);
		second = await readInboundStats(page);
	}
	if (second.video.framesDecoded <= first.video.framesDecoded) console.log(`${label}: remote video stopped after its first frames:\n${await describeInbound(page)}`);
	expect(second.video.framesDecoded, `${label}: remote video keeps decoding`).toBeGreaterThan(first.video.framesDecoded);
	expect(second.video.frameWidth, `${label}: decoded video has a size`).toBeGreaterThan(0);
	expect(second.audio.packetsReceived, `${label}: remote audio packets arrive`).toBeGreaterThan(first.audio.packetsReceived);
	return { first, second };
}
