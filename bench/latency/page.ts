/**
 * Code that runs inside the browser pages of the glass-to-glass benchmark (passed to
 * Playwright's addInitScript/evaluate, so every function here is self-contained: no
 * closures over module scope, helpers are nested). The root tsconfig has no DOM library,
 * so the few browser shapes used are declared structurally below.
 *
 * The block code: the frame (or its top codeHeight pixels) is a COLS x ROWS grid of black/white cells. Cells 0..31 carry
 * the low 32 bits of the sender's clock in whole ms (timeOrigin + now), cells 32..47 a
 * CRC-16/CCITT of those 4 bytes. A frame whose cells do not pass the CRC is discarded.
 */

export interface CodeLayout {
	cols: number;
	rows: number;
	/** Canvas size (the sender's "camera"). */
	width: number;
	height: number;
	/** The code fills the top codeHeight pixels; the rest is a static mid-grey (less to encode). */
	codeHeight: number;
	fps: number;
}

// ---- In-page shapes ----------------------------------------------------------------

interface Ctx2D {
	fillStyle: string;
	imageSmoothingEnabled: boolean;
	fillRect(x: number, y: number, w: number, h: number): void;
	drawImage(source: unknown, x: number, y: number, w: number, h: number): void;
	drawImage(source: unknown, sx: number, sy: number, sw: number, sh: number, x: number, y: number, w: number, h: number): void;
	getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}

interface TrackLike {
	kind: string;
	stop(): void;
}

interface StreamLike {
	getTracks(): TrackLike[];
	getAudioTracks(): TrackLike[];
	getVideoTracks(): TrackLike[];
}

interface CanvasEl {
	width: number;
	height: number;
	getContext(kind: '2d', options?: { willReadFrequently?: boolean; alpha?: boolean }): Ctx2D | null;
	captureStream(fps: number): StreamLike;
}

export interface FrameMeta {
	presentedFrames: number;
	expectedDisplayTime: number;
	presentationTime: number;
	width: number;
	height: number;
	/** WebRTC sources: when the last packet of the frame arrived (receiver's performance.now() base). */
	receiveTime?: number;
	processingDuration?: number;
}

interface VideoEl {
	videoWidth: number;
	videoHeight: number;
	requestVideoFrameCallback(callback: (now: number, meta: FrameMeta) => void): number;
}

interface GumConstraints {
	audio?: unknown;
	video?: unknown;
}

interface MediaDevicesLike {
	getUserMedia(constraints: GumConstraints): Promise<StreamLike>;
}

interface PageWindow {
	document: { createElement(tag: 'canvas'): CanvasEl; querySelector(selector: string): unknown };
	navigator: { mediaDevices?: MediaDevicesLike };
	MediaStream: new (tracks: TrackLike[]) => StreamLike;
	performance: { timeOrigin: number; now(): number };
	requestAnimationFrame(callback: (t: number) => void): number;
	setInterval(callback: () => void, ms: number): number;
	__g2gSender?: SenderState;
	__g2gReceivers?: Record<string, ReceiverState>;
	__parleyBenchPcs?: RecordedPc[];
	RTCPeerConnection: new (...args: unknown[]) => object;
}

export interface SenderState {
	/** Codes drawn (ms, low 32 bits) since the last reset. */
	drawn: number[];
	draws: number;
	tracksHandedOut: number;
}

export interface Sample {
	/** Receiver's clock (ms since the epoch, timeOrigin + now) when the callback ran. */
	at: number;
	/** The code read from the frame: the sender's clock (low 32 bits, ms) when it drew the frame. */
	code: number;
	/** now (callback) − code. */
	latency: number;
	/** expectedDisplayTime − code. */
	displayLatency: number;
	/** receiveTime − code (capture, encode, pacing, network, SFU); NaN without receiveTime. */
	toReceive: number;
	/** processingDuration (decode) in ms, NaN without it. */
	decode: number;
	width: number;
	height: number;
	/** Smallest distance of a cell's mean luma from the threshold (0..128): decode confidence. */
	margin: number;
}

export interface ReceiverState {
	samples: Sample[];
	failed: number;
	duplicates: number;
	callbacks: number;
	attachments: number;
	lastCode: number;
	collecting: boolean;
}

interface RecordedPc {
	connectionState: string;
	getStats(): Promise<{ forEach(callback: (entry: Record<string, unknown>) => void): void }>;
}

// ---- Init scripts --------------------------------------------------------------------

/** Keep every RTCPeerConnection the page creates (for getStats), without the app's help. */
export function recordPeerConnections(): void {
	const g = globalThis as unknown as PageWindow;
	if (g.__parleyBenchPcs) return;
	const Native = g.RTCPeerConnection;
	const pcs: RecordedPc[] = [];
	g.__parleyBenchPcs = pcs;
	class Recording extends Native {
		constructor(...args: unknown[]) {
			super(...args);
			pcs.push(this as unknown as RecordedPc);
		}
	}
	g.RTCPeerConnection = Recording;
}

/**
 * Sender init script: getUserMedia's video track becomes canvas.captureStream(fps) of a
 * canvas that shows the clock as a block code, redrawn at `fps`; audio still comes from
 * the (fake) microphone.
 */
export function installCanvasCamera(layout: CodeLayout): void {
	const g = globalThis as unknown as PageWindow;
	const devices = g.navigator.mediaDevices;
	if (!devices || g.__g2gSender) return;
	const state: SenderState = { drawn: [], draws: 0, tracksHandedOut: 0 };
	g.__g2gSender = state;
	const original = devices.getUserMedia.bind(devices);
	let canvas: CanvasEl | null = null;

	const crc16 = (value: number): number => {
		let crc = 0xffff;
		for (let shift = 24; shift >= 0; shift -= 8) {
			crc ^= ((value >>> shift) & 0xff) << 8;
			for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
		}
		return crc;
	};

	const start = (): CanvasEl => {
		const c = g.document.createElement('canvas');
		c.width = layout.width;
		c.height = layout.height;
		const ctx = c.getContext('2d', { alpha: false });
		if (!ctx) throw new Error('no 2d context');
		const cw = layout.width / layout.cols;
		const ch = layout.codeHeight / layout.rows;
		ctx.fillStyle = '#808080';
		ctx.fillRect(0, 0, layout.width, layout.height);
		const period = 1000 / layout.fps;
		let next = 0;
		const draw = (): void => {
			const nowMs = g.performance.timeOrigin + g.performance.now();
			const code = Math.round(nowMs) % 2 ** 32;
			const check = crc16(code);
			for (let i = 0; i < layout.cols * layout.rows; i++) {
				const bit = i < 32 ? (code >>> (31 - i)) & 1 : i < 48 ? (check >>> (47 - i)) & 1 : (i & 1) ^ 1;
				ctx.fillStyle = bit ? '#ffffff' : '#000000';
				ctx.fillRect((i % layout.cols) * cw, Math.floor(i / layout.cols) * ch, cw, ch);
			}
			state.draws++;
			if (state.drawn.length < 100_000) state.drawn.push(code);
		};
		const tick = (): void => {
			const now = g.performance.now();
			if (now >= next) {
				// Keep a steady cadence; after a stall, start again from now (no bursts).
				next = now - next > period ? now + period : next + period;
				draw();
			}
			g.requestAnimationFrame(tick);
		};
		draw();
		g.requestAnimationFrame(tick);
		return c;
	};

	devices.getUserMedia = async (constraints: GumConstraints): Promise<StreamLike> => {
		if (!constraints.video) return original(constraints);
		canvas ??= start();
		const video = canvas.captureStream(layout.fps).getVideoTracks()[0]!;
		state.tracksHandedOut++;
		if (!constraints.audio) return new g.MediaStream([video]);
		try {
			const audio = await original({ audio: constraints.audio });
			return new g.MediaStream([...audio.getAudioTracks(), video]);
		} catch (error) {
			video.stop();
			throw error;
		}
	};
}

/** Init script: the client's experiment switches (localStorage['parley.tuning'], read by client/src/media/tuning.ts). */
export function setTuning(json: string): void {
	try {
		(globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('parley.tuning', json);
	} catch {
		// about:blank and other opaque origins have no storage.
	}
}

/**
 * Init script for the page under loss emulation: drop the server's TCP ICE candidates, so
 * that its media stays on UDP. CDP network emulation only applies to UDP WebRTC sockets, and
 * under 30% loss ICE consent on the UDP pair sometimes fails and the transport moves to the
 * (unemulated, clean) TCP pair, which would end the loss mid-measurement.
 */
export function udpOnly(): void {
	interface Desc {
		type: string;
		sdp?: string;
	}
	interface PcProto {
		setRemoteDescription(desc: Desc): Promise<void>;
	}
	const g = globalThis as unknown as { RTCPeerConnection: { prototype: PcProto } };
	const proto = g.RTCPeerConnection.prototype;
	const original = proto.setRemoteDescription;
	proto.setRemoteDescription = function (this: PcProto, desc: Desc): Promise<void> {
		const sdp = desc?.sdp
			?.split('\r\n')
			.filter((line) => !/^a=candidate:\S+ \d+ tcp /i.test(line))
			.join('\r\n');
		return original.call(this, sdp === undefined ? desc : { type: desc.type, sdp });
	};
}

// ---- Evaluated on demand -------------------------------------------------------------

/**
 * Receiver: decode the block code of every frame presented by the <video> that matches
 * `selector` (re-attached if the app replaces the element). Samples go to
 * window.__g2gReceivers[key] while `collecting` is set.
 */
export function installDecoder(args: { key: string; selector: string; layout: CodeLayout }): void {
	const { key, selector, layout } = args;
	const g = globalThis as unknown as PageWindow;
	g.__g2gReceivers ??= {};
	if (g.__g2gReceivers[key]) return;
	const state: ReceiverState = { samples: [], failed: 0, duplicates: 0, callbacks: 0, attachments: 0, lastCode: -1, collecting: false };
	g.__g2gReceivers[key] = state;
	const PX = 8; // pixels per cell in the read-back canvas
	const canvas = g.document.createElement('canvas');
	canvas.width = layout.cols * PX;
	canvas.height = layout.rows * PX;
	const ctx = canvas.getContext('2d', { willReadFrequently: true, alpha: false })!;
	ctx.imageSmoothingEnabled = true;

	const crc16 = (value: number): number => {
		let crc = 0xffff;
		for (let shift = 24; shift >= 0; shift -= 8) {
			crc ^= ((value >>> shift) & 0xff) << 8;
			for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
		}
		return crc;
	};
	const wrap = (a: number, b: number): number => {
		// a − b on the 32-bit ms clock, as a signed difference.
		let d = (a - b) % 2 ** 32;
		if (d < 0) d += 2 ** 32;
		return d >= 2 ** 31 ? d - 2 ** 32 : d;
	};

	let current: VideoEl | null = null;
	const onFrame = (video: VideoEl) => (_now: number, meta: FrameMeta): void => {
		const at = g.performance.timeOrigin + g.performance.now();
		if (video !== current) return;
		video.requestVideoFrameCallback(onFrame(video));
		state.callbacks++;
		if (!state.collecting) return;
		const w = canvas.width;
		// Only the code area of the frame, whatever resolution the layer has.
		const sh = (video.videoHeight * layout.codeHeight) / layout.height;
		ctx.drawImage(video, 0, 0, video.videoWidth, sh, 0, 0, w, canvas.height);
		const data = ctx.getImageData(0, 0, w, canvas.height).data;
		let code = 0;
		let check = 0;
		let margin = 128;
		for (let i = 0; i < 48; i++) {
			const x0 = (i % layout.cols) * PX + 2;
			const y0 = Math.floor(i / layout.cols) * PX + 2;
			let sum = 0;
			for (let y = y0; y < y0 + PX - 4; y++)
				for (let x = x0; x < x0 + PX - 4; x++) {
					const o = (y * w + x) * 4;
					sum += data[o]! + data[o + 1]! + data[o + 2]!;
				}
			const luma = sum / (3 * (PX - 4) * (PX - 4));
			margin = Math.min(margin, Math.abs(luma - 128));
			const bit = luma >= 128 ? 1 : 0;
			if (i < 32) code = code * 2 + bit;
			else check = check * 2 + bit;
		}
		const latency = wrap(at, code);
		if (crc16(code) !== check || latency < -5 || latency > 10_000) {
			state.failed++;
			return;
		}
		if (code === state.lastCode) {
			state.duplicates++;
			return;
		}
		state.lastCode = code;
		const origin = g.performance.timeOrigin;
		state.samples.push({
			at,
			code,
			latency,
			displayLatency: wrap(origin + meta.expectedDisplayTime, code),
			toReceive: meta.receiveTime === undefined ? NaN : wrap(origin + meta.receiveTime, code),
			decode: meta.processingDuration === undefined ? NaN : meta.processingDuration * 1000,
			width: meta.width,
			height: meta.height,
			margin,
		});
	};
	g.setInterval(() => {
		const video = g.document.querySelector(selector) as VideoEl | null;
		if (video && video !== current) {
			current = video;
			state.attachments++;
			video.requestVideoFrameCallback(onFrame(video));
		}
	}, 100);
}

/** Start (or stop) collecting: clears the samples and counters of `key`, and the sender's drawn codes. */
export function setCollecting(args: { key: string; on: boolean }): void {
	const g = globalThis as unknown as PageWindow;
	const state = g.__g2gReceivers?.[args.key];
	if (state && args.on) {
		state.samples = [];
		state.failed = 0;
		state.duplicates = 0;
	}
	if (state) state.collecting = args.on;
	if (g.__g2gSender && args.on) g.__g2gSender.drawn = [];
}

export function readReceiver(key: string): ReceiverState | null {
	const g = globalThis as unknown as PageWindow;
	return g.__g2gReceivers?.[key] ?? null;
}

export function readSender(): SenderState | null {
	const g = globalThis as unknown as PageWindow;
	return g.__g2gSender ?? null;
}

/** The client's User Timing marks (parley:*: transport states, ICE restarts, layers), on the page's epoch clock. */
export function parleyMarks(): Array<{ name: string; at: number }> {
	const p = (globalThis as unknown as { performance: { timeOrigin: number; getEntriesByType(t: string): Array<{ name: string; startTime: number }> } })
		.performance;
	return p
		.getEntriesByType('mark')
		.filter((m) => m.name.startsWith('parley:'))
		.map((m) => ({ name: m.name.slice('parley:'.length), at: p.timeOrigin + m.startTime }));
}

/** The page's clock (timeOrigin + now) minus Date.now(), averaged: compares two pages' clocks. */
export function clockOffset(): number {
	const g = globalThis as unknown as PageWindow;
	let sum = 0;
	const n = 2000;
	for (let i = 0; i < n; i++) sum += g.performance.timeOrigin + g.performance.now() - Date.now();
	return sum / n;
}

export type StatsEntry = Record<string, unknown>;

/** RTP stats (remote-inbound: video only) and the selected candidate pairs of every open peer connection of the page. */
export async function videoStats(): Promise<StatsEntry[]> {
	const g = globalThis as unknown as PageWindow;
	const out: StatsEntry[] = [];
	for (const [index, pc] of (g.__parleyBenchPcs ?? []).entries()) {
		if (pc.connectionState === 'closed') continue;
		const report = await pc.getStats();
		const entries: StatsEntry[] = [];
		report.forEach((e) => entries.push(e));
		const byId = new Map(entries.map((e) => [e['id'] as string, e]));
		for (const e of entries) {
			const type = e['type'];
			if (type === 'inbound-rtp' || type === 'outbound-rtp' || (type === 'remote-inbound-rtp' && e['kind'] === 'video')) {
				out.push({ ...e, pc: index });
			} else if (type === 'transport') {
				const pair = byId.get(e['selectedCandidatePairId'] as string);
				const local = pair ? byId.get(pair['localCandidateId'] as string) : undefined;
				const remote = pair ? byId.get(pair['remoteCandidateId'] as string) : undefined;
				if (pair)
					out.push({
						...pair,
						type: 'selected-pair',
						pc: index,
						dtlsState: e['dtlsState'] ?? null,
						protocol: local?.['protocol'] ?? null,
						remoteAddress: remote ? `${String(remote['address'])}:${String(remote['port'])}/${String(remote['protocol'])}` : null,
					});
			}
		}
	}
	return out;
}
