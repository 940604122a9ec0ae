/**
 * No SFU at all: a publisher bot's PeerConnection connected straight to one subscriber
 * bot's (werift to werift, in one process). The benchmark uses it as the floor of the
 * latency measurement, so that what an SFU hop adds can be told from what the bots
 * themselves cost. One subscriber per publisher; single-layer video only.
 */
import type { RTCPeerConnection } from 'werift';
import type { PublishedMedia, PublishSpec, RemoteStream, SessionOptions, SfuConnector, SfuSession } from './connector.ts';
import { AUDIO_PT, gathered, onlyCandidatesOf, sdpSsrcs, VIDEO_PT, waitConnected } from './peer.ts';

interface Deferred<T> {
	promise: Promise<T>;
	resolve: (v: T) => void;
}
function deferred<T>(): Deferred<T> {
	let resolve!: (v: T) => void;
	const promise = new Promise<T>((r) => (resolve = r));
	return { promise, resolve };
}
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout;
	return Promise.race([
		p.finally(() => clearTimeout(timer)),
		new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`direct: no ${what} within ${ms} ms`)), ms))),
	]);
}

interface Pairing {
	offer: Deferred<{ sdp: string; publisherId: string }>;
	answer: Deferred<string>;
}

export class DirectConnector implements SfuConnector {
	readonly name = 'direct';
	readonly localAddress = '127.0.0.1';
	readonly #rooms = new Map<string, Pairing>();

	async connect(options: SessionOptions): Promise<SfuSession> {
		let pairing = this.#rooms.get(options.room);
		if (!pairing) this.#rooms.set(options.room, (pairing = { offer: deferred(), answer: deferred() }));
		return new DirectSession(options.identity, pairing, this.localAddress);
	}
}

class DirectSession implements SfuSession {
	readonly identity: string;
	readonly #pairing: Pairing;
	readonly #address: string;

	constructor(identity: string, pairing: Pairing, address: string) {
		this.identity = identity;
		this.#pairing = pairing;
		this.#address = address;
	}

	async publish(pc: RTCPeerConnection, spec: PublishSpec): Promise<PublishedMedia> {
		if (spec.video === 'simulcast') throw new Error('direct: simulcast needs an SFU');
		const video = spec.video !== 'none' ? pc.addTransceiver('video', { direction: 'sendonly' }) : undefined;
		const audio = spec.audio ? pc.addTransceiver('audio', { direction: 'sendonly' }) : undefined;
		await pc.setLocalDescription(await pc.createOffer());
		await gathered(pc);
		this.#pairing.offer.resolve({ sdp: onlyCandidatesOf(pc.localDescription!.sdp, this.#address), publisherId: this.identity });
		const answer = await within(this.#pairing.answer.promise, 30_000, 'subscriber');
		await pc.setRemoteDescription({ type: 'answer', sdp: answer });
		await waitConnected(pc);
		const out: PublishedMedia = {};
		if (video) out.video = { sender: video.sender, payloadType: VIDEO_PT, ssrcs: [video.sender.ssrc] };
		if (audio) out.audio = { sender: audio.sender, payloadType: AUDIO_PT };
		return out;
	}

	async subscribe(pc: RTCPeerConnection, onStream: (stream: RemoteStream) => void): Promise<void> {
		const offer = await within(this.#pairing.offer.promise, 30_000, 'publisher');
		for (const { kind, ssrc } of sdpSsrcs(offer.sdp)) {
			if (kind === 'audio' || kind === 'video') onStream({ publisherId: offer.publisherId, kind, ssrc });
		}
		await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
		await pc.setLocalDescription(await pc.createAnswer());
		await gathered(pc);
		this.#pairing.answer.resolve(onlyCandidatesOf(pc.localDescription!.sdp, this.#address));
	}

	async close(): Promise<void> {}
}
