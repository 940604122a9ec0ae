/**
 * The microphone's mute must reach the server even when it happens while the producer is
 * still being created (the produce request in flight), and switching devices must swap the
 * track into the same producer (no new producer, no renegotiation). The transport and the
 * socket are fakes: a browser cannot run here (the E2E devices spec covers the real thing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Epoch } from './marks.ts';
import { Publisher } from './Publisher.ts';
import type { PublisherContext, PublisherSpec } from './publisherTypes.ts';

class FakeTrack extends EventTarget {
	readonly kind = 'audio';
	enabled = true;
	readyState: 'live' | 'ended' = 'live';
	readonly label: string;
	readonly deviceId: string;
	constructor(label: string, deviceId: string) {
		super();
		this.label = label;
		this.deviceId = deviceId;
	}
	getSettings(): { deviceId: string; groupId: string } {
		return { deviceId: this.deviceId, groupId: `g-${this.deviceId}` };
	}
	stop(): void {
		this.readyState = 'ended';
	}
}

class FakeProducer {
	readonly kind = 'audio';
	paused: boolean;
	closed = false;
	replaced: FakeTrack[] = [];
	readonly id: string;
	track: FakeTrack;
	constructor(id: string, track: FakeTrack, paused: boolean) {
		this.id = id;
		this.track = track;
		this.paused = paused;
	}
	pause(): void {
		this.paused = true;
		this.track.enabled = false;
	}
	resume(): void {
		this.paused = false;
		this.track.enabled = true;
	}
	close(): void {
		this.closed = true;
	}
	async replaceTrack({ track }: { track: FakeTrack }): Promise<void> {
		this.replaced.push(track);
		this.track = track;
		track.enabled = !this.paused;
	}
}

function setup(options: { micOn: boolean }) {
	const requests: { name: string; payload: unknown }[] = [];
	const produced: { paused: boolean; producer: FakeProducer }[] = [];
	let finishProduce: (() => void) | null = null;
	const transport = {
		produce(opts: { track: FakeTrack; appData: { paused: boolean } }): Promise<FakeProducer> {
			return new Promise((resolve) => {
				finishProduce = () => {
					const producer = new FakeProducer(`p${produced.length + 1}`, opts.track, false);
					produced.push({ paused: opts.appData.paused, producer });
					resolve(producer);
				};
			});
		},
	};
	const epoch = new Epoch();
	const notices: string[] = [];
	const ctx = {
		signaling: {
			request: async (name: string, payload: unknown) => {
				requests.push({ name, payload });
				return {};
			},
		},
		transports: { ensureSend: async () => transport },
		epoch,
		joined: () => true,
		closed: () => false,
		changed: () => {},
		notice: (message: string) => notices.push(message),
		produced: () => {},
	} as unknown as PublisherContext;
	const tracks: FakeTrack[] = [];
	const spec: PublisherSpec = {
		source: 'microphone',
		pauseWhenOff: true,
		acquire: async (deviceId) => {
			const track = new FakeTrack(`Mic ${deviceId ?? 'default'}`, deviceId ?? 'default');
			tracks.push(track);
			return track as unknown as MediaStreamTrack;
		},
		produceOptions: () => ({}),
		device: { kind: 'audioinput', noun: 'microphone' },
	};
	const first = new FakeTrack('Mic default', 'default');
	const publisher = new Publisher(spec, ctx, first as unknown as MediaStreamTrack, options.micOn);
	const generation = epoch.bump();
	return { publisher, generation, requests, produced, notices, first, tracks, finish: () => finishProduce?.() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test('muting while the produce request is in flight: muted at once here, and on the server once the producer exists', async () => {
	const t = setup({ micOn: true });
	const publishing = t.publisher.publish(t.generation);
	await tick();
	assert.equal(t.produced.length, 0, 'the produce request is still in flight');
	const muting = t.publisher.setEnabled(false);
	assert.equal(t.publisher.on, false, 'the button shows muted at once');
	assert.equal(t.first.enabled, false, 'no sound leaves the track from now on');
	assert.equal(t.publisher.busy, false, 'muting is not blocked by the publication');
	t.finish();
	await Promise.all([publishing, muting]);
	const producer = t.produced[0]!.producer;
	assert.equal(t.produced[0]!.paused, false, 'the producer was requested unpaused (before the mute)');
	assert.equal(producer.paused, true, 'the local producer is paused');
	assert.deepEqual(
		t.requests.map((r) => r.name),
		['media:pauseProducer'],
		'the server is told the microphone is muted',
	);
});

test('mute then unmute while in flight: no request is needed, nothing stays paused', async () => {
	const t = setup({ micOn: true });
	const publishing = t.publisher.publish(t.generation);
	await tick();
	void t.publisher.setEnabled(false);
	const unmuting = t.publisher.setEnabled(true);
	t.finish();
	await Promise.all([publishing, unmuting]);
	assert.equal(t.publisher.on, true);
	assert.equal(t.produced[0]!.producer.paused, false);
	assert.deepEqual(t.requests, []);
});

test('joined muted, unmuted during publication: the server is told to resume', async () => {
	const t = setup({ micOn: false });
	const publishing = t.publisher.publish(t.generation);
	await tick();
	const unmuting = t.publisher.setEnabled(true);
	t.finish();
	await Promise.all([publishing, unmuting]);
	assert.equal(t.produced[0]!.paused, true);
	assert.equal(t.produced[0]!.producer.paused, false);
	assert.deepEqual(
		t.requests.map((r) => r.name),
		['media:resumeProducer'],
	);
});

test('switching the microphone swaps the track into the same producer and keeps it muted', async () => {
	const t = setup({ micOn: true });
	const publishing = t.publisher.publish(t.generation);
	await tick();
	t.finish();
	await publishing;
	await t.publisher.setEnabled(false);
	await t.publisher.switchDevice('usb-mic');
	const producer = t.produced[0]!.producer;
	assert.equal(t.produced.length, 1, 'no second producer');
	assert.equal(producer.replaced.length, 1, 'replaceTrack was used');
	assert.equal(t.publisher.track, t.tracks[0] as unknown as MediaStreamTrack);
	assert.equal(t.tracks[0]!.enabled, false, 'still muted after the switch');
	assert.equal(t.first.readyState, 'ended', 'the old microphone is released');
	assert.equal(t.publisher.deviceId, 'usb-mic');
});

test('an unplugged microphone is replaced by another one, and the person is told', async () => {
	const t = setup({ micOn: true });
	const publishing = t.publisher.publish(t.generation);
	await tick();
	t.finish();
	await publishing;
	t.first.readyState = 'ended';
	t.first.dispatchEvent(new Event('ended'));
	await t.publisher.setEnabled(true); // queued behind the replacement
	const producer = t.produced[0]!.producer;
	assert.equal(producer.replaced.length, 1);
	assert.equal(t.publisher.on, true);
	assert.match(t.notices.join('\n'), /microphone \(Mic default\) was disconnected\. Now using Mic default/);
	assert.doesNotMatch(t.notices.join('\n'), /reload/i);
});
