/**
 * A consumer that fails to negotiate must not take the others down. mediasoup-client
 * negotiates the consumers created in the same tick together, and once a negotiation fails
 * its receive transport cannot negotiate again (the failed m-sections stay in its remote
 * SDP). The fake transport below behaves like that; the browser itself cannot run here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomError } from './errors.ts';
import { Epoch } from './marks.ts';
import { RemoteMedia } from './RemoteMedia.ts';
import type { RemoteMediaContext } from './remoteMediaTypes.ts';

interface FakeConsumer {
	id: string;
	producerId: string;
	kind: 'audio' | 'video';
	track: { id: string };
	rtpParameters: { encodings: { scalabilityMode?: string }[] };
	closed: boolean;
	appData: { peerId: string; source: string };
	close(): void;
	on(event: string, fn: () => void): void;
}

let transports = 0;

/** Like mediasoup-client's Transport: consume() calls of one tick are one negotiation; a failure poisons it. */
class FakeTransport {
	readonly id = `t${++transports}`;
	closed = false;
	poisoned = false;
	negotiations: string[][] = [];
	#pending: { options: { id: string; producerId: string; kind: 'audio' | 'video'; appData: FakeConsumer['appData'] }; resolve(c: FakeConsumer): void; reject(e: unknown): void }[] = [];
	readonly #bad: Set<string>;
	readonly #consumers: FakeConsumer[] = [];
	/** How long a negotiation takes (ms; 0: done in a microtask). */
	readonly #negotiationMs: number;

	constructor(bad: Set<string>, negotiationMs = 0) {
		this.#bad = bad;
		this.#negotiationMs = negotiationMs;
	}

	/** The media stream each consumer was put in (its `streamId`), by producer. */
	streams = new Map<string, string | undefined>();

	consume(options: { id: string; producerId: string; kind: 'audio' | 'video'; appData: FakeConsumer['appData']; streamId?: string }): Promise<FakeConsumer> {
		this.streams.set(options.producerId, options.streamId);
		if (this.closed) return Promise.reject(Object.assign(new Error('closed'), { name: 'InvalidStateError' }));
		return new Promise((resolve, reject) => {
			this.#pending.push({ options, resolve, reject });
			if (this.#pending.length === 1) {
				if (this.#negotiationMs > 0) setTimeout(() => this.#negotiate(), this.#negotiationMs);
				else queueMicrotask(() => this.#negotiate());
			}
		});
	}

	#negotiate(): void {
		const batch = this.#pending.splice(0);
		this.negotiations.push(batch.map((p) => p.options.producerId));
		if (this.poisoned || batch.some((p) => this.#bad.has(p.options.producerId))) {
			this.poisoned = true;
			const error = new Error('Failed to set remote offer sdp');
			for (const p of batch) p.reject(error);
			return;
		}
		for (const { options, resolve } of batch) {
			const consumer: FakeConsumer = {
				id: options.id,
				producerId: options.producerId,
				kind: options.kind,
				track: { id: `track-${options.id}` },
				rtpParameters: { encodings: [options.kind === 'video' ? { scalabilityMode: 'L3T3' } : {}] },
				closed: false,
				appData: options.appData,
				close() {
					this.closed = true;
				},
				on() {},
			};
			this.#consumers.push(consumer);
			resolve(consumer);
		}
	}

	close(): void {
		this.closed = true;
		for (const c of this.#consumers) c.closed = true;
	}

	closedConsumer(id: string): boolean {
		return this.#consumers.find((c) => c.id === id)?.closed ?? false;
	}
}

interface Options {
	/** The server's answer to media:resumeConsumer (default: resumed). */
	resume?(consumerId: string): Promise<unknown>;
	/** How long each negotiation takes (a busy page). */
	negotiationMs?: number;
	/** Consumers negotiated in the lobby on the first receive transport, by id. */
	prepared?: Map<string, FakeConsumer>;
}

function setup(bad: string[], options: Options = {}) {
	const badSet = new Set(bad);
	const epoch = new Epoch();
	epoch.bump();
	let recv = new FakeTransport(badSet, options.negotiationMs);
	const all = [recv];
	const notices: string[] = [];
	const requests: { name: string; payload: Record<string, unknown> }[] = [];
	let consumerIds = 0;
	const producers = new Map<string, { peerId: string; kind: 'audio' | 'video'; source: string }>();
	const ctx = {
		async request(name: string, payload: Record<string, unknown>) {
			requests.push({ name, payload });
			if (name === 'media:consume') {
				const producerId = payload.producerId as string;
				const p = producers.get(producerId)!;
				return { id: `c${++consumerIds}`, producerId, peerId: p.peerId, kind: p.kind, source: p.source, rtpParameters: { codecs: [] }, producerPaused: false };
			}
			if (name === 'media:resumeConsumer' && options.resume) return options.resume(payload.consumerId as string);
			return {};
		},
		transports: {
			get recv() {
				return recv;
			},
			recvConnectStarted: true,
			recvTransport: async () => recv,
			async replaceRecv() {
				recv.close();
				recv = new FakeTransport(badSet);
				all.push(recv);
			},
			takePrepared(consumerId: string, transport: FakeTransport) {
				const consumer = options.prepared?.get(consumerId) ?? null;
				options.prepared?.delete(consumerId);
				return transport === all[0] ? consumer : null;
			},
		},
		epoch,
		selfId: () => 'me',
		active: () => true,
		closed: () => false,
		changed: () => {},
		notice: (message: string) => notices.push(message),
	} as unknown as RemoteMediaContext;
	const remote = new RemoteMedia(ctx);
	const join = (peerId: string, name: string, list: { id: string; kind: 'audio' | 'video'; source: string }[]) => {
		for (const p of list) producers.set(p.id, { peerId, kind: p.kind, source: p.source });
		remote.peerJoined({ id: peerId, name, joinedAt: Date.now(), producers: list.map((p) => ({ ...p, peerId, paused: false })) as never });
	};
	return { remote, join, notices, requests, producers, transports: all, current: () => recv };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
	const until = Date.now() + 2000;
	while (!check()) {
		if (Date.now() > until) assert.fail(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 5));
	}
}

test('consumers that arrive together share one negotiation', async () => {
	const t = setup([]);
	t.join('alice', 'Alice', [
		{ id: 'a-mic', kind: 'audio', source: 'microphone' },
		{ id: 'a-cam', kind: 'video', source: 'camera' },
	]);
	await eventually(() => t.remote.consumerCount === 2, 'two consumers');
	assert.deepEqual(t.transports[0]!.negotiations, [['a-mic', 'a-cam']]);
	assert.equal(t.transports.length, 1);
});

test('consumers negotiated in the lobby and resumed by the join are used as they are: no negotiation, no resume request', async () => {
	const lobby = (id: string, producerId: string, kind: 'audio' | 'video'): FakeConsumer => ({
		id, producerId, kind, track: { id: `track-${id}` }, rtpParameters: { encodings: [{}] }, closed: false, appData: {} as FakeConsumer['appData'],
		close() {
			this.closed = true;
		},
		on() {},
	});
	const prepared = new Map([['p-cam', lobby('p-cam', 'a-cam', 'video')], ['p-mic', lobby('p-mic', 'a-mic', 'audio')]]);
	const t = setup([], { prepared });
	const answer = (id: string, producerId: string, kind: 'audio' | 'video', source: string, resumed?: true) =>
		({ id, producerId, peerId: 'alice', kind, source, rtpParameters: { codecs: [] }, producerPaused: false, ...(resumed ? { resumed } : {}) }) as never;
	// The camera was resumed by the join; the microphone's resume failed there (no `resumed`): the client asks.
	t.remote.prefetch([answer('p-cam', 'a-cam', 'video', 'camera', true), answer('p-mic', 'a-mic', 'audio', 'microphone')]);
	t.join('alice', 'Alice', [
		{ id: 'a-cam', kind: 'video', source: 'camera' },
		{ id: 'a-mic', kind: 'audio', source: 'microphone' },
	]);
	await eventually(() => t.remote.consumerCount === 2, 'two consumers');
	await t.remote.settled();
	assert.deepEqual(t.transports[0]!.negotiations, [], 'negotiated in the lobby already');
	assert.deepEqual(t.requests.filter((r) => r.name === 'media:resumeConsumer').map((r) => r.payload.consumerId), ['p-mic']);
	assert.deepEqual(t.remote.consumers().map((c) => [c.id, c.appData.peerId, c.appData.source]).sort(), [['p-cam', 'alice', 'camera'], ['p-mic', 'alice', 'microphone']]);
	assert.equal(t.requests.some((r) => r.name === 'media:consume'), false);
});

test('a person\'s later consumers join the media stream their consumers prepared in the lobby were put in (the browser syncs their playout)', async () => {
	const cam: FakeConsumer = {
		id: 'p-cam', producerId: 'a-cam', kind: 'video', track: { id: 'track-p-cam' }, rtpParameters: { encodings: [{}] }, closed: false,
		appData: { streamId: 'lobby-g0' } as unknown as FakeConsumer['appData'],
		close() {
			this.closed = true;
		},
		on() {},
	};
	const t = setup([], { prepared: new Map([['p-cam', cam]]) });
	t.remote.prefetch([{ id: 'p-cam', producerId: 'a-cam', peerId: 'alice', kind: 'video', source: 'camera', rtpParameters: { codecs: [] }, producerPaused: false, resumed: true } as never]);
	t.join('alice', 'Alice', [{ id: 'a-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => t.remote.consumerCount === 1, 'the prepared camera');
	// Her microphone comes after the join: consumed as usual, in her camera's stream.
	t.producers.set('a-mic', { peerId: 'alice', kind: 'audio', source: 'microphone' });
	t.remote.producerNew({ id: 'a-mic', peerId: 'alice', kind: 'audio', source: 'microphone', paused: false } as never);
	await eventually(() => t.remote.consumerCount === 2, 'and the microphone');
	assert.equal(t.transports[0]!.streams.get('a-mic'), 'lobby-g0');
	// Someone else's: their own stream.
	t.join('bob', 'Bob', [{ id: 'b-mic', kind: 'audio', source: 'microphone' }]);
	await eventually(() => t.remote.consumerCount === 3, 'Bob');
	assert.equal(t.transports[0]!.streams.get('b-mic'), 'bob-user');
});

test('consumers that arrive one by one while a negotiation runs go together in the next one', async () => {
	const t = setup([], { negotiationMs: 60 });
	t.join('alice', 'Alice', [{ id: 'a-cam', kind: 'video', source: 'camera' }]);
	t.join('bob', 'Bob', []);
	// After a move the others' producers come back one by one, each with its consumer pushed.
	const later = [
		{ id: 'b-cam', peerId: 'bob', kind: 'video', source: 'camera' },
		{ id: 'a-mic', peerId: 'alice', kind: 'audio', source: 'microphone' },
		{ id: 'b-mic', peerId: 'bob', kind: 'audio', source: 'microphone' },
	] as const;
	for (const p of later) {
		await new Promise((r) => setTimeout(r, 10));
		t.producers.set(p.id, { peerId: p.peerId, kind: p.kind, source: p.source });
		t.remote.producerNew({ ...p, paused: false } as never);
	}
	await eventually(() => t.remote.consumerCount === 4, 'four consumers');
	assert.deepEqual(t.transports[0]!.negotiations, [['a-cam'], ['b-cam', 'a-mic', 'b-mic']]);
});

test('a consumer that fails to negotiate is reported and left out; the others keep playing', async () => {
	const t = setup(['b-cam']);
	t.join('alice', 'Alice', [
		{ id: 'a-mic', kind: 'audio', source: 'microphone' },
		{ id: 'a-cam', kind: 'video', source: 'camera' },
	]);
	t.join('bob', 'Bob', [{ id: 'b-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => t.remote.consumerCount === 2 && t.notices.length > 0, "Alice's media on a fresh transport");

	const live = t.remote.consumers();
	assert.deepEqual(live.map((c) => c.producerId).sort(), ['a-cam', 'a-mic']);
	assert.ok(live.every((c) => !c.closed), 'the remaining consumers are open');
	assert.ok(!t.current().poisoned, 'the current receive transport negotiates');
	assert.match(t.notices.join('\n'), /Could not receive video from Bob/);
	// The culprit was found alone, and the server was told to drop its consumers.
	assert.ok(t.transports.some((tr) => tr.negotiations.some((n) => n.length === 1 && n[0] === 'b-cam')));
	assert.ok(t.requests.some((r) => r.name === 'media:closeConsumer'));

	// Later media still comes in; the culprit is not retried.
	t.join('carol', 'Carol', [{ id: 'c-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => t.remote.consumerCount === 3, "Carol's camera");
	assert.equal(t.notices.length, 1);
	const participants = t.remote.participants(new Map());
	assert.deepEqual(participants.map((p) => [p.id, p.videoOn]), [['alice', true], ['bob', false], ['carol', true]]);
});

test('a consumer whose producer went away before its resume is dropped quietly, not reported', async (t) => {
	const warn = t.mock.method(console, 'warn', () => {});
	t.mock.method(console, 'debug', () => {});
	// The SFU closed the consumer with its producer while this client negotiated it.
	const room = setup([], {
		resume: async (consumerId) => {
			throw new RoomError(consumerId === 'c2' ? 'not_found' : 'internal', `no consumer ${consumerId}`);
		},
	});
	room.join('alice', 'Alice', [{ id: 'a-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => room.notices.length === 1, 'an internal error is a failure notice');
	assert.match(room.notices[0]!, /Could not receive video from Alice/);

	room.join('bob', 'Bob', [{ id: 'b-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => room.requests.some((r) => r.name === 'media:resumeConsumer' && r.payload.consumerId === 'c2'), "Bob's resume");
	await room.remote.settled();
	assert.equal(room.notices.length, 1, 'no notice for the consumer that went away');
	assert.equal(warn.mock.calls.length, 1, 'only the internal error is a warning');
	assert.deepEqual(room.remote.consumers().map((c) => c.id), ['c1'], 'the gone consumer is dropped');
	assert.equal(room.transports[0]!.closedConsumer('c2'), true, 'and closed here');
	assert.equal(room.requests.filter((r) => r.name === 'media:consume').length, 2, 'and not consumed again');
	const bob = room.remote.participants(new Map()).find((p) => p.id === 'bob');
	assert.equal(bob?.videoOn, false);
});

test('remake closes a consumer on both ends and consumes its producer anew', async () => {
	const room = setup([]);
	room.join('alice', 'Alice', [{ id: 'a-cam', kind: 'video', source: 'camera' }]);
	await eventually(() => room.remote.consumerCount === 1, "Alice's camera");
	const [first] = room.remote.consumers();
	room.remote.remake(first!.id);
	assert.equal(first!.closed, true);
	assert.ok(room.requests.some((r) => r.name === 'media:closeConsumer' && r.payload.consumerId === first!.id));
	await eventually(() => room.remote.consumerCount === 1, 'a new consumer');
	const [second] = room.remote.consumers();
	assert.notEqual(second!.id, first!.id);
	assert.equal(second!.producerId, 'a-cam');
	assert.equal(room.remote.participants(new Map())[0]!.videoConsumerId, second!.id);
});

test('a consumer the server pushed with producer:new is used without asking; one for another transport is closed', async () => {
	const room = setup([]);
	room.join('alice', 'Alice', []);
	const pushed = (id: string, producerId: string, transportId: string) => ({
		id,
		producerId,
		peerId: 'alice',
		kind: 'video' as const,
		source: 'camera' as const,
		rtpParameters: { codecs: [] },
		producerPaused: false,
		transportId,
	});
	room.remote.producerNew({ id: 'a-cam', peerId: 'alice', kind: 'video', source: 'camera', paused: false }, pushed('p1', 'a-cam', room.current().id) as never);
	await eventually(() => room.remote.consumerCount === 1, "Alice's camera");
	assert.deepEqual(room.remote.consumers().map((c) => c.id), ['p1']);
	assert.equal(room.requests.filter((r) => r.name === 'media:consume').length, 0, 'no consume round trip');
	assert.ok(room.requests.some((r) => r.name === 'media:resumeConsumer' && r.payload.consumerId === 'p1'));

	// Made on a receive transport this client no longer uses: closed there, consumed as usual.
	room.producers.set('a-mic', { peerId: 'alice', kind: 'audio', source: 'microphone' });
	room.remote.producerNew({ id: 'a-mic', peerId: 'alice', kind: 'audio', source: 'microphone', paused: false }, pushed('p2', 'a-mic', 'old-transport') as never);
	await eventually(() => room.remote.consumerCount === 2, "Alice's microphone");
	assert.ok(room.requests.some((r) => r.name === 'media:closeConsumer' && r.payload.consumerId === 'p2'));
	assert.equal(room.requests.filter((r) => r.name === 'media:consume').length, 1);
});

test('videoForwarded waits until the SFU forwards a layer of a due video, at once when none is due', async () => {
	const t = setup([]);
	await t.remote.videoForwarded(); // nobody here
	t.join('alice', 'Alice', [
		{ id: 'a-mic', kind: 'audio', source: 'microphone' },
		{ id: 'a-cam', kind: 'video', source: 'camera' },
	]);
	await eventually(() => t.remote.consumerCount === 2 && t.remote.watchedVideos().some((v) => v.due), 'a resumed video');
	const video = t.remote.consumers().find((c) => c.kind === 'video')!;
	let forwarded = false;
	const waiting = t.remote.videoForwarded().then(() => {
		forwarded = true;
	});
	t.remote.consumerLayers(video.id, { spatialLayer: null, temporalLayer: null });
	await new Promise((r) => setTimeout(r, 10));
	assert.equal(forwarded, false, 'no layer forwarded yet');
	t.remote.consumerLayers(video.id, { spatialLayer: 0, temporalLayer: 2 });
	await waiting;
	await t.remote.videoForwarded(); // already forwarding
});
