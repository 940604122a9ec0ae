/**
 * A bot's session with a mediasoup-based SFU (Parley, or the raw mediasoup harness):
 * mediasoup transports are turned into SDP for werift (the job mediasoup-client's
 * RemoteSdp does in a browser), and werift's senders into `produce()` RTP parameters.
 * The signaling itself is behind MediasoupSignaling, so Parley (Socket.IO + the protocol
 * module) and the raw harness (IPC) share everything else.
 */
import type { RTCPeerConnection } from 'werift';
import type {
	ConsumerOptions,
	DtlsParameters,
	ProducerInfo,
	RtpCapabilities,
	RtpParameters,
	TransportOptions,
} from '../../signaling/protocol/index.ts';
import type { PublishedMedia, PublishSpec, RemoteStream, SfuSession } from './connector.ts';
import { AUDIO_PT, localFingerprint, localSetupRole, MID_EXT_ID, MID_EXT_URI, VIDEO_PT, waitConnected } from './peer.ts';

/** The requests a bot needs, named after Parley's protocol (media:* / room:*). */
export interface MediasoupSignaling {
	getRouterRtpCapabilities(): Promise<RtpCapabilities>;
	/**
	 * Join with these receive capabilities; returns the other participants' producers and, if
	 * asked for and the SFU does it (Parley's `room:join` with `receive`), the receive transport
	 * with a consumer of each of them (two round trips fewer, as in the browser).
	 */
	join(rtpCapabilities: RtpCapabilities, receive: boolean, prepared?: string): Promise<Joined>;
	createTransport(direction: 'send' | 'recv'): Promise<TransportOptions>;
	connectTransport(transportId: string, dtlsParameters: DtlsParameters): Promise<void>;
	produce(transportId: string, kind: 'audio' | 'video', rtpParameters: RtpParameters): Promise<string>;
	consume(transportId: string, producerId: string): Promise<ConsumerOptions>;
	resumeConsumer(consumerId: string): Promise<void>;
	/** A new producer; `pushed`: the SFU made this participant's consumer of it already (Parley, after a move). */
	onNewProducer(listener: (producer: ProducerInfo, pushed?: PushedConsumer) => void): void;
	/** The SFU moved this participant's media, with the new session it prepared if any; optional (only Parley does). */
	onMediaReconnect?(listener: (prepared?: PreparedSession) => void): void;
	close(): Promise<void>;
}

export interface Joined {
	producers: ProducerInfo[];
	receive?: { transport: TransportOptions; consumers: ConsumerOptions[] };
}

/** A media session the SFU set up for a moved participant: what a join answers, and the send transport. */
export interface PreparedSession extends Joined {
	send?: TransportOptions;
}

export type PushedConsumer = ConsumerOptions & { transportId: string };

/**
 * A receive connection set up before the join (Parley's POST /api/media/prepare, as the
 * browser's lobby does): its transport, and the data section whose negotiation connected it.
 */
export interface PreparedReceiveLink {
	transport: TransportOptions;
	pc: RTCPeerConnection;
	sections: SectionSpec[];
}

/** Negotiate a prepared receive transport's data channel on `pc` and wait until it is connected (ICE and DTLS). */
export async function connectPreparedReceive(
	pc: RTCPeerConnection,
	transport: TransportOptions,
	connect: (dtlsParameters: DtlsParameters) => Promise<void>,
): Promise<PreparedReceiveLink> {
	const sections: SectionSpec[] = [{ mid: 'probe', kind: 'application', direction: 'sendonly' }];
	await pc.setRemoteDescription({ type: 'offer', sdp: remoteSdp(transport, sections, 'actpass') });
	await pc.setLocalDescription(await pc.createAnswer());
	const local = pc.localDescription!.sdp;
	await connect({ role: localSetupRole(local) === 'passive' ? 'server' : 'client', fingerprints: [localFingerprint(local)] });
	await waitConnected(pc);
	return { transport, pc, sections };
}

/** What a bot can receive: Opus and VP8 (no RTX), and the MID header extension. */
export function botRtpCapabilities(router: RtpCapabilities): RtpCapabilities {
	return {
		codecs: (router.codecs ?? []).filter((c) => c.mimeType === 'audio/opus' || c.mimeType === 'video/VP8'),
		headerExtensions: (router.headerExtensions ?? []).filter((h) => h.uri === MID_EXT_URI),
	};
}

export class MediasoupSession implements SfuSession {
	readonly identity: string;
	readonly #sig: MediasoupSignaling;
	#joined: Joined;
	/** The send transport the SFU prepared with a move (used by the next publish()). */
	#preparedSend: TransportOptions | undefined;
	/** Bumped by rejoin(): the receive side of an older media session stops adding streams. */
	#generation = 0;
	/** The receive connection prepared before the join, if the join took it (until subscribe uses it). */
	#lobby: PreparedReceiveLink | undefined;
	readonly preparedTaken: boolean;

	private constructor(identity: string, sig: MediasoupSignaling, joined: Joined, prepared?: PreparedReceiveLink) {
		this.identity = identity;
		this.#sig = sig;
		this.#joined = joined;
		this.#lobby = prepared && joined.receive?.transport.id === prepared.transport.id ? prepared : undefined;
		this.preparedTaken = !!this.#lobby;
	}

	/**
	 * Fetch capabilities and join. With `known` (the router capabilities an earlier bot of
	 * this run fetched: the browser's preloaded Device), both requests go out together and the
	 * join is made again only if the capabilities changed. `receive`: ask the join for the
	 * receive side (see MediasoupSignaling.join).
	 */
	static async open(
		identity: string,
		sig: MediasoupSignaling,
		options: { receive?: boolean; known?: RtpCapabilities; prepared?: PreparedReceiveLink } = {},
	): Promise<MediasoupSession> {
		const receive = options.receive ?? false;
		if (options.known) {
			const capabilities = sig.getRouterRtpCapabilities();
			const joining = sig.join(botRtpCapabilities(options.known), receive, receive ? options.prepared?.transport.id : undefined);
			joining.catch(() => {});
			if (JSON.stringify(await capabilities) === JSON.stringify(options.known)) {
				return new MediasoupSession(identity, sig, await joining, options.prepared);
			}
			await joining.catch(() => {});
			return new MediasoupSession(identity, sig, await sig.join(botRtpCapabilities(await capabilities), false));
		}
		const router = await sig.getRouterRtpCapabilities();
		return new MediasoupSession(identity, sig, await sig.join(botRtpCapabilities(router), receive));
	}

	onMediaReconnect(listener: (prepared?: PreparedSession) => void): void {
		this.#sig.onMediaReconnect?.(listener);
	}

	/** The session the SFU prepared (the browser's path: no round trip), else a join on the same connection. */
	async rejoin(prepared?: PreparedSession): Promise<void> {
		this.#generation++;
		this.#preparedSend = prepared?.send;
		this.#joined = prepared ?? (await this.#sig.join(botRtpCapabilities(await this.#sig.getRouterRtpCapabilities()), false));
	}

	async publish(pc: RTCPeerConnection, spec: PublishSpec): Promise<PublishedMedia> {
		const video = spec.video !== 'none' ? pc.addTransceiver('video', { direction: 'sendonly' }) : undefined;
		const audio = spec.audio ? pc.addTransceiver('audio', { direction: 'sendonly' }) : undefined;
		if (!video && !audio) throw new Error('nothing to publish');
		await pc.setLocalDescription(await pc.createOffer());
		const transport = this.#preparedSend ?? (await this.#sig.createTransport('send'));
		this.#preparedSend = undefined;
		const sections: SectionSpec[] = [];
		for (const t of [video, audio]) {
			if (!t) continue;
			sections.push({
				mid: t.mid!,
				kind: t.kind as 'audio' | 'video',
				direction: 'recvonly',
				codec: t.kind === 'video' ? VP8 : OPUS,
			});
		}
		await pc.setRemoteDescription({ type: 'answer', sdp: remoteSdp(transport, sections, 'passive') });
		const local = pc.localDescription!.sdp;
		await this.#sig.connectTransport(transport.id, {
			role: localSetupRole(local) === 'passive' ? 'server' : 'client',
			fingerprints: [localFingerprint(local)],
		});
		const published: PublishedMedia = {};
		if (video) {
			const ssrcs =
				spec.video === 'simulcast' ? [video.sender.ssrc, randomSsrc(), randomSsrc()] : [video.sender.ssrc];
			const encodings =
				spec.video === 'simulcast'
					? ssrcs.map((ssrc, i) => ({ ssrc, scaleResolutionDownBy: 2 ** (2 - i), maxBitrate: [200_000, 700_000, 1_500_000][i]! }))
					: [{ ssrc: ssrcs[0]! }];
			await this.#sig.produce(transport.id, 'video', {
				mid: video.mid!,
				codecs: [{ ...VP8 }],
				headerExtensions: [{ uri: MID_EXT_URI, id: MID_EXT_ID }],
				encodings,
				rtcp: { cname: pc.cname, reducedSize: true },
			} as RtpParameters);
			published.video = { sender: video.sender, payloadType: VIDEO_PT, ssrcs };
		}
		if (audio) {
			await this.#sig.produce(transport.id, 'audio', {
				mid: audio.mid!,
				codecs: [{ ...OPUS }],
				headerExtensions: [{ uri: MID_EXT_URI, id: MID_EXT_ID }],
				encodings: [{ ssrc: audio.sender.ssrc }],
				rtcp: { cname: pc.cname, reducedSize: true },
			} as RtpParameters);
			published.audio = { sender: audio.sender, payloadType: AUDIO_PT };
		}
		await waitConnected(pc);
		return published;
	}

	async subscribe(pc: RTCPeerConnection, onStream: (stream: RemoteStream) => void): Promise<void> {
		const generation = this.#generation;
		const prepared = this.#joined.receive;
		const transport = prepared?.transport ?? (await this.#sig.createTransport('recv'));
		// The connection prepared before the join, if the join took it: connected already, its data section first.
		const lobby = this.#lobby?.transport.id === transport.id && this.#lobby.pc === pc ? this.#lobby : undefined;
		this.#lobby = undefined;
		const sections: SectionSpec[] = lobby ? [...lobby.sections] : [];
		let connected = !!lobby;
		// Consumes are serialized: each one renegotiates the receive connection.
		let queue: Promise<void> = Promise.resolve();
		const negotiate = (consumers: ConsumerOptions[]): Promise<void> => {
			// Nothing to receive yet (the first in the room): an offer without media sections has no fingerprint to connect with.
			if (consumers.length === 0) return queue;
			queue = queue.then(async () => {
				// Resumed ahead of the negotiation: the SFU asks for a keyframe once the transport connects.
				const resumed = Promise.all(consumers.map((c) => this.#sig.resumeConsumer(c.id)));
				resumed.catch(() => {});
				for (const c of consumers) {
					sections.push({
						mid: c.rtpParameters.mid!,
						kind: c.kind,
						direction: 'sendonly',
						consumer: c,
					});
					onStream({ publisherId: c.peerId, kind: c.kind, ssrc: c.rtpParameters.encodings![0]!.ssrc! });
				}
				await pc.setRemoteDescription({ type: 'offer', sdp: remoteSdp(transport, sections, 'actpass') });
				await pc.setLocalDescription(await pc.createAnswer());
				if (!connected) {
					connected = true;
					const local = pc.localDescription!.sdp;
					await this.#sig.connectTransport(transport.id, {
						role: localSetupRole(local) === 'passive' ? 'server' : 'client',
						fingerprints: [localFingerprint(local)],
					});
				}
				await resumed;
			});
			return queue;
		};
		const add = async (producers: ProducerInfo[], pushed?: PushedConsumer): Promise<void> => {
			const mine = producers.filter((p) => p.peerId !== this.identity);
			if (mine.length === 0 || generation !== this.#generation) return;
			// A consumer the SFU pushed for this receive transport is used as it is (no consume round trip).
			const usable = pushed?.transportId === transport.id ? pushed : undefined;
			const consumers = await Promise.all(mine.map((p) => (usable?.producerId === p.id ? usable : this.#sig.consume(transport.id, p.id))));
			if (generation === this.#generation) await negotiate(consumers);
		};
		this.#sig.onNewProducer((p, pushed) => {
			add([p], pushed).catch(() => {
				/* the session is closing */
			});
		});
		if (prepared) {
			// The join brought a consumer of everything published then; what it missed is consumed as usual.
			const have = new Set(prepared.consumers.map((c) => c.producerId));
			await Promise.all([negotiate(prepared.consumers), add(this.#joined.producers.filter((p) => !have.has(p.id)))]);
		} else await add(this.#joined.producers);
	}

	async close(): Promise<void> {
		await this.#sig.close();
	}
}

const VP8 = {
	mimeType: 'video/VP8',
	payloadType: VIDEO_PT,
	clockRate: 90000,
	rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
	parameters: {},
};
const OPUS = {
	mimeType: 'audio/opus',
	payloadType: AUDIO_PT,
	clockRate: 48000,
	channels: 2,
	rtcpFeedback: [],
	parameters: { useinbandfec: 1, usedtx: 1 },
};

interface SectionSpec {
	mid: string;
	/** 'application': the data channel of a prepared receive transport. */
	kind: 'audio' | 'video' | 'application';
	/** The SFU's direction. */
	direction: 'sendonly' | 'recvonly';
	/** For recvonly (send transport): the codec we send. */
	codec?: { mimeType: string; payloadType: number; clockRate: number; channels?: number; rtcpFeedback: { type: string; parameter?: string }[]; parameters: Record<string, unknown> };
	/** For sendonly (receive transport): the consumer. */
	consumer?: ConsumerOptions;
}

function randomSsrc(): number {
	return (Math.random() * 0xffff_fffe + 1) >>> 0;
}

function fmtp(parameters: Record<string, unknown> | undefined): string | undefined {
	const entries = Object.entries(parameters ?? {});
	return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(';') : undefined;
}

/** The SDP of the mediasoup side of one WebRtcTransport (ICE-lite), as an answer or offer. */
function remoteSdp(transport: TransportOptions, sections: SectionSpec[], setup: 'passive' | 'actpass'): string {
	const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
	const lines = [
		'v=0',
		`o=mediasoup ${transport.id.replace(/\D/g, '').slice(0, 12) || '1'} ${sections.length + 1} IN IP4 0.0.0.0`,
		's=-',
		't=0 0',
		'a=ice-lite',
		`a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`,
		'a=msid-semantic: WMS *',
		`a=fingerprint:${fp.algorithm} ${fp.value}`,
	];
	const udp = transport.iceCandidates.filter((c) => c.protocol === 'udp');
	const transportLines = (): string[] => [
		`c=IN IP4 ${udp[0]?.address ?? '0.0.0.0'}`,
		`a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
		`a=ice-pwd:${transport.iceParameters.password}`,
		...udp.map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ host`),
		'a=end-of-candidates',
		`a=setup:${setup}`,
	];
	for (const s of sections) {
		if (s.kind === 'application') {
			lines.push(`m=application ${udp[0]?.port ?? 9} UDP/DTLS/SCTP webrtc-datachannel`, ...transportLines(), `a=mid:${s.mid}`);
			lines.push(`a=sctp-port:${transport.sctpParameters?.port ?? 5000}`, `a=max-message-size:${transport.sctpParameters?.maxMessageSize ?? 262144}`);
			continue;
		}
		const codecs = s.consumer ? s.consumer.rtpParameters.codecs : [s.codec!];
		const exts = s.consumer ? (s.consumer.rtpParameters.headerExtensions ?? []) : [{ uri: MID_EXT_URI, id: MID_EXT_ID }];
		const proto = 'UDP/TLS/RTP/SAVPF';
		lines.push(`m=${s.kind} ${udp[0]?.port ?? 9} ${proto} ${codecs.map((c) => c.payloadType).join(' ')}`, ...transportLines());
		lines.push(`a=mid:${s.mid}`);
		lines.push(`a=${s.direction}`);
		lines.push('a=rtcp-mux');
		lines.push('a=rtcp-rsize');
		for (const e of exts) lines.push(`a=extmap:${e.id} ${e.uri}`);
		for (const c of codecs) {
			const [, name] = c.mimeType.split('/');
			lines.push(`a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels && c.channels > 1 ? `/${c.channels}` : ''}`);
			const f = fmtp(c.parameters as Record<string, unknown>);
			if (f) lines.push(`a=fmtp:${c.payloadType} ${f}`);
			for (const fb of c.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
		}
		if (s.consumer) {
			const ssrc = s.consumer.rtpParameters.encodings![0]!.ssrc!;
			const cname = s.consumer.rtpParameters.rtcp?.cname ?? 'mediasoup';
			lines.push(`a=ssrc:${ssrc} cname:${cname}`);
			lines.push(`a=ssrc:${ssrc} msid:${s.consumer.peerId} ${s.consumer.id}`);
		}
	}
	return `${lines.join('\r\n')}\r\n`;
}
