/**
 * Bots against Janus VideoRoom, through Janus's own API over its WebSocket transport
 * (subprotocol "janus-protocol"): one Janus session per bot, a publisher handle
 * (join + publish with a JSEP offer) and/or a subscriber handle (join as subscriber to
 * the room's publishers, answer Janus's offer, start).
 *
 * Limitation: a subscriber subscribes to the publishers present when it joins (the
 * benchmark starts publishers first); later publishers are not added.
 */
import { randomUUID } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
import type { PublishedMedia, PublishSpec, RemoteStream, SessionOptions, SfuConnector, SfuSession } from '../bot/connector.ts';
import { AUDIO_PT, gathered, onlyCandidatesOf, sdpSsrcs, VIDEO_PT, waitConnected } from '../bot/peer.ts';

type Json = Record<string, unknown>;
interface JanusMessage {
	janus: string;
	transaction?: string;
	session_id?: number;
	sender?: number;
	data?: { id: number };
	plugindata?: { plugin: string; data: Json };
	jsep?: { type: 'offer' | 'answer'; sdp: string };
	error?: { code: number; reason: string };
}

export class JanusConnector implements SfuConnector {
	readonly name = 'janus';
	readonly localAddress: string;
	readonly #wsUrl: string;
	readonly #rooms = new Map<string, Promise<void>>();

	constructor(options: { wsUrl: string; localAddress: string }) {
		this.#wsUrl = options.wsUrl;
		this.localAddress = options.localAddress;
	}

	async connect(options: SessionOptions): Promise<SfuSession> {
		const api = await JanusApi.open(this.#wsUrl);
		try {
			let created = this.#rooms.get(options.room);
			if (!created) {
				created = createRoom(api, options.room);
				this.#rooms.set(options.room, created);
			}
			await created;
			return new JanusSession(api, options, this.localAddress);
		} catch (error) {
			api.close();
			throw error;
		}
	}
}

async function createRoom(api: JanusApi, room: string): Promise<void> {
	const handle = await api.attach();
	const reply = await api.request(handle, {
		request: 'create',
		room,
		publishers: 1000,
		videocodec: 'vp8',
		audiocodec: 'opus',
		bitrate: 0,
		fir_freq: 0,
		notify_joining: false,
		permanent: false,
	});
	const data = reply.plugindata?.data ?? {};
	// 427: the room exists already.
	if (data.videoroom !== 'created' && data.error_code !== 427) throw new Error(`janus: create room ${room}: ${JSON.stringify(data)}`);
	await api.detach(handle);
}

/** One Janus API session over one WebSocket. */
class JanusApi {
	readonly #ws: WebSocket;
	readonly #pending = new Map<string, { resolve: (m: JanusMessage) => void; reject: (e: Error) => void; ackOnly: boolean }>();
	readonly #handlers = new Map<number, (m: JanusMessage) => void>();
	sessionId = 0;
	#keepalive: NodeJS.Timeout | undefined;
	#closed = false;

	private constructor(ws: WebSocket) {
		this.#ws = ws;
		ws.addEventListener('message', (ev) => {
			const msg = JSON.parse(String(ev.data)) as JanusMessage;
			const p = msg.transaction ? this.#pending.get(msg.transaction) : undefined;
			if (p && msg.janus === 'ack' && !p.ackOnly) return; // wait for the event
			if (p) {
				this.#pending.delete(msg.transaction!);
				if (msg.janus === 'error') p.reject(new Error(`janus: ${msg.error?.code}: ${msg.error?.reason}`));
				else p.resolve(msg);
				return;
			}
			if (msg.sender) this.#handlers.get(msg.sender)?.(msg);
		});
		ws.addEventListener('close', () => {
			for (const p of this.#pending.values()) p.reject(new Error('janus: WebSocket closed'));
			this.#pending.clear();
			clearInterval(this.#keepalive);
		});
	}

	static async open(url: string): Promise<JanusApi> {
		const ws = new WebSocket(url, 'janus-protocol');
		await new Promise<void>((resolve, reject) => {
			ws.addEventListener('open', () => resolve(), { once: true });
			ws.addEventListener('error', () => reject(new Error(`janus: cannot connect to ${url}`)), { once: true });
		});
		const api = new JanusApi(ws);
		const created = await api.#send({ janus: 'create' });
		api.sessionId = created.data!.id;
		api.#keepalive = setInterval(() => {
			api.#send({ janus: 'keepalive', session_id: api.sessionId }, true).catch(() => {});
		}, 20_000);
		api.#keepalive.unref();
		return api;
	}

	#send(body: Json, ackOnly = false, timeoutMs = 15_000): Promise<JanusMessage> {
		if (this.#closed) return Promise.reject(new Error('janus: session closed'));
		const transaction = randomUUID();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(transaction);
				reject(new Error(`janus: no answer to ${String(body.janus)} ${JSON.stringify((body.body as Json | undefined)?.request ?? '')}`));
			}, timeoutMs);
			this.#pending.set(transaction, {
				resolve: (m) => {
					clearTimeout(timer);
					resolve(m);
				},
				reject: (e) => {
					clearTimeout(timer);
					reject(e);
				},
				ackOnly,
			});
			this.#ws.send(JSON.stringify({ ...body, transaction }));
		});
	}

	async attach(onEvent?: (m: JanusMessage) => void): Promise<number> {
		const reply = await this.#send({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id: this.sessionId });
		const handle = reply.data!.id;
		if (onEvent) this.#handlers.set(handle, onEvent);
		return handle;
	}

	async detach(handle: number): Promise<void> {
		this.#handlers.delete(handle);
		await this.#send({ janus: 'detach', session_id: this.sessionId, handle_id: handle });
	}

	/** A plugin request; resolves with the synchronous answer or the asynchronous event. */
	request(handle: number, body: Json, jsep?: { type: string; sdp: string }): Promise<JanusMessage> {
		return this.#send({ janus: 'message', session_id: this.sessionId, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
	}

	trickleCompleted(handle: number): Promise<JanusMessage> {
		return this.#send({ janus: 'trickle', session_id: this.sessionId, handle_id: handle, candidate: { completed: true } }, true);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#keepalive);
		try {
			this.#ws.send(JSON.stringify({ janus: 'destroy', session_id: this.sessionId, transaction: randomUUID() }));
		} catch {
			/* already closed */
		}
		this.#ws.close();
	}
}

function pluginData(m: JanusMessage): Json {
	const data = m.plugindata?.data ?? {};
	if (data.error) throw new Error(`janus: ${String(data.error_code)}: ${String(data.error)}`);
	return data;
}

class JanusSession implements SfuSession {
	readonly identity: string;
	readonly #api: JanusApi;
	readonly #room: string;
	readonly #localAddress: string;

	constructor(api: JanusApi, options: SessionOptions, localAddress: string) {
		this.#api = api;
		this.identity = options.identity;
		this.#room = options.room;
		this.#localAddress = localAddress;
	}

	async publish(pc: RTCPeerConnection, spec: PublishSpec): Promise<PublishedMedia> {
		const handle = await this.#api.attach();
		pluginData(await this.#api.request(handle, { request: 'join', ptype: 'publisher', room: this.#room, display: this.identity }));
		const video = spec.video !== 'none' ? pc.addTransceiver('video', { direction: 'sendonly' }) : undefined;
		const audio = spec.audio ? pc.addTransceiver('audio', { direction: 'sendonly' }) : undefined;
		await pc.setLocalDescription(await pc.createOffer());
		await gathered(pc);
		let sdp = onlyCandidatesOf(pc.localDescription!.sdp, this.#localAddress);
		const ssrcs = video ? [video.sender.ssrc] : [];
		if (video && spec.video === 'simulcast') {
			ssrcs.push(randomSsrc(), randomSsrc());
			sdp = addSimulcastSsrcs(sdp, video.mid!, ssrcs, pc.cname);
		}
		const reply = await this.#api.request(handle, { request: 'publish', audio: !!audio, video: !!video, display: this.identity }, { type: 'offer', sdp });
		pluginData(reply);
		if (!reply.jsep) throw new Error('janus: no answer to the publish offer');
		await pc.setRemoteDescription(reply.jsep);
		await this.#api.trickleCompleted(handle);
		await waitConnected(pc);
		const out: PublishedMedia = {};
		if (video) out.video = { sender: video.sender, payloadType: video.sender.codec?.payloadType ?? VIDEO_PT, ssrcs };
		if (audio) out.audio = { sender: audio.sender, payloadType: audio.sender.codec?.payloadType ?? AUDIO_PT };
		return out;
	}

	async subscribe(pc: RTCPeerConnection, onStream: (stream: RemoteStream) => void): Promise<void> {
		const handle = await this.#api.attach();
		const list = pluginData(await this.#api.request(handle, { request: 'listparticipants', room: this.#room }));
		const feeds = ((list.participants as { id: string; display?: string; publisher: boolean }[]) ?? []).filter(
			(p) => p.publisher && p.display !== this.identity,
		);
		if (feeds.length === 0) return;
		const reply = await this.#api.request(handle, {
			request: 'join',
			ptype: 'subscriber',
			room: this.#room,
			streams: feeds.map((f) => ({ feed: f.id })),
		});
		const data = pluginData(reply);
		if (!reply.jsep) throw new Error('janus: no offer for the subscriber');
		const byMid = new Map<string, { feed_display?: string; type: string }>();
		for (const s of (data.streams as { mid: string; type: string; feed_display?: string }[]) ?? []) byMid.set(s.mid, s);
		for (const { mid, ssrc } of sdpSsrcs(reply.jsep.sdp)) {
			const s = byMid.get(mid);
			if (!s || (s.type !== 'audio' && s.type !== 'video')) continue;
			onStream({ publisherId: s.feed_display ?? '?', kind: s.type, ssrc });
		}
		await pc.setRemoteDescription(reply.jsep);
		await pc.setLocalDescription(await pc.createAnswer());
		await gathered(pc);
		const answer = onlyCandidatesOf(pc.localDescription!.sdp, this.#localAddress);
		pluginData(await this.#api.request(handle, { request: 'start' }, { type: 'answer', sdp: answer }));
		await this.#api.trickleCompleted(handle);
	}

	async close(): Promise<void> {
		this.#api.close();
	}
}

function randomSsrc(): number {
	return (Math.random() * 0xffff_fffe + 1) >>> 0;
}

/** Announce three SSRCs (lowest layer first) in the video section, as a=ssrc-group:SIM. */
function addSimulcastSsrcs(sdp: string, mid: string, ssrcs: number[], cname: string): string {
	const lines = sdp.split('\r\n');
	const midLine = lines.findIndex((l) => l === `a=mid:${mid}`);
	if (midLine < 0) throw new Error(`no m-section with mid ${mid}`);
	const extra = [`a=ssrc-group:SIM ${ssrcs.join(' ')}`, ...ssrcs.slice(1).map((s) => `a=ssrc:${s} cname:${cname}`)];
	lines.splice(midLine + 1, 0, ...extra);
	return lines.join('\r\n');
}
