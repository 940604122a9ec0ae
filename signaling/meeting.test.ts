/**
 * Integration: roles, host controls, lock, removal, the waiting room, hands and reactions,
 * against the real Socket.IO server and a real mediasoup worker (synthetic RTP parameters).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
	connectError,
	joinRoom,
	next,
	ok,
	request,
	startTestServer,
	syntheticRtpParameters,
	type TestClient,
	type TestServer,
} from '../test/harness.ts';
import { io } from 'socket.io-client';
import type { NotificationMap, RequestName, RequestPayload } from './protocol/index.ts';

let t: TestServer;
before(async () => {
	t = await startTestServer();
});
after(async () => {
	await t.close();
});

/** Notifications sent right on connection arrive before `await connect` returns: keep them. */
const early = new WeakMap<TestClient, { event: string; payload: unknown }[]>();
async function connect(server: TestServer, token: string): Promise<TestClient> {
	const socket: TestClient = io(server.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false });
	const log: { event: string; payload: unknown }[] = [];
	early.set(socket, log);
	socket.onAny((event: string, payload: unknown) => log.push({ event, payload }));
	opened.push(socket);
	socket.connect();
	await new Promise<void>((resolve, reject) => {
		socket.once('connect', () => resolve());
		socket.once('connect_error', reject);
	});
	return socket;
}
const opened: TestClient[] = [];
after(() => {
	for (const s of opened) s.disconnect();
});
/** The first notification of a kind (matching), already received or coming. */
function first<E extends keyof NotificationMap>(
	socket: TestClient,
	event: E,
	match: (payload: NotificationMap[E]) => boolean = () => true,
): Promise<NotificationMap[E]> {
	const seen = early.get(socket)?.find((e) => e.event === event && match(e.payload as NotificationMap[E]));
	return seen ? Promise.resolve(seen.payload as NotificationMap[E]) : next(socket, event, match);
}
async function host(room: string, identity = 'host') {
	return connect(t, t.token({ room, identity, name: 'Host', role: 'host' }));
}
async function participant(room: string, identity: string, extra: Parameters<TestServer['token']>[0] = { room }) {
	return connect(t, t.token({ name: identity, ...extra, room, identity }));
}
async function publishMic(socket: TestClient, ssrc: number): Promise<string> {
	const send = await ok(socket, 'media:createTransport', { direction: 'send' });
	const { producerId } = await ok(socket, 'media:produce', {
		transportId: send.id,
		kind: 'audio',
		rtpParameters: syntheticRtpParameters('audio', ssrc),
		source: 'microphone',
	});
	return producerId;
}
function code(result: { ok: boolean; error?: { code: string } }): string | undefined {
	return result.ok ? undefined : result.error?.code;
}
/** Connects and waits for the meeting state that includes this identity (entered). */
async function entered(socket: TestClient, identity: string): Promise<void> {
	await first(socket, 'meeting:state', (s) => s.members.some((m) => m.identity === identity));
}

describe('roles and permissions', () => {
	it('tells each connection its role and everyone the members with roles', async () => {
		const room = 'roles';
		const h = await host(room);
		const you = await first(h, 'meeting:you');
		assert.deepEqual(you, { role: 'host', firstInRoom: false });
		const stateSeen = next(h, 'meeting:state', (s) => s.members.length === 2);
		const p = await participant(room, 'pat');
		const state = await stateSeen;
		assert.deepEqual(
			state.members.map((m) => [m.identity, m.role]).sort(),
			[
				['host', 'host'],
				['pat', 'participant'],
			],
		);
		assert.deepEqual(state.settings, { locked: false, waitingRoom: false, allowSelfUnmute: true });
		h.disconnect();
		p.disconnect();
	});

	it('answers every host request from a participant with forbidden', async () => {
		const room = 'forbidden';
		const h = await host(room);
		const p = await participant(room, 'pat');
		await entered(h, 'pat');
		const requests: { [K in RequestName]?: RequestPayload<K> } = {
			'host:mute': { identity: 'host', source: 'microphone' },
			'host:muteAll': {},
			'host:askUnmute': { identity: 'host' },
			'host:remove': { identity: 'host' },
			'host:settings': { locked: true },
			'host:setRole': { identity: 'host', role: 'participant' },
			'host:admit': { all: true },
			'host:deny': { all: true },
			'host:end': {},
		};
		for (const [name, payload] of Object.entries(requests)) {
			const result = await request(p, name as 'host:mute', payload as RequestPayload<'host:mute'>);
			assert.equal(code(result), 'forbidden', name);
		}
		const lower = await request(p, 'hand:lower', { identity: 'host' });
		assert.equal(code(lower), 'forbidden');
		// Validated at the edge: a bad source is a bad request, not a crash.
		const bad = await request(h, 'host:mute', { identity: 'pat', source: 'speakers' } as never);
		assert.equal(code(bad), 'bad_request');
		assert.equal(code(await request(h, 'host:mute', { identity: 'nobody', source: 'camera' })), 'not_found');
		assert.equal(p.connected, true);
		h.disconnect();
		p.disconnect();
	});

	it('lets a host make a co-host, who may then moderate but not change roles', async () => {
		const room = 'cohost';
		const h = await host(room);
		// Named like the server API's caller: a name grants nothing.
		const c = await participant(room, 'cora', { room, name: 'api' });
		const p = await participant(room, 'pat');
		await entered(h, 'pat');
		assert.equal(code(await request(c, 'host:settings', { locked: true })), 'forbidden');
		const promoted = next(c, 'meeting:you', (y) => y.role === 'cohost');
		await ok(h, 'host:setRole', { identity: 'cora', role: 'cohost' });
		await promoted;
		assert.deepEqual(await ok(c, 'host:settings', { allowSelfUnmute: false }), {
			settings: { locked: false, waitingRoom: false, allowSelfUnmute: false },
		});
		assert.equal(code(await request(c, 'host:setRole', { identity: 'pat', role: 'cohost' })), 'forbidden');
		assert.equal(code(await request(c, 'host:remove', { identity: 'host' })), 'forbidden', 'a co-host cannot remove a host');
		await ok(h, 'host:setRole', { identity: 'cora', role: 'participant' });
		assert.equal(code(await request(c, 'host:settings', { locked: false })), 'forbidden');
		for (const s of [h, c, p]) s.disconnect();
	});

	it('makes the first person in a new room its host in dev mode', async () => {
		const dev = await startTestServer({ env: { PARLEY_DEV: 'true' } });
		try {
			const a = await connect(dev, dev.token({ room: 'devroom', identity: 'first' }));
			assert.deepEqual(await first(a, 'meeting:you'), { role: 'host', firstInRoom: true });
			const b = await connect(dev, dev.token({ room: 'devroom', identity: 'second' }));
			assert.deepEqual(await first(b, 'meeting:you'), { role: 'participant', firstInRoom: false });
			a.disconnect();
			b.disconnect();
		} finally {
			await dev.close();
		}
	});
});

describe('host controls', () => {
	it('mutes a microphone: the producer pauses, the person is told why, others see it paused', async () => {
		const room = 'mute';
		const h = await host(room);
		const p = await participant(room, 'pat');
		await joinRoom(h);
		await joinRoom(p);
		const producerId = await publishMic(p, 3001);
		const told = next(p, 'moderation:notice');
		const paused = next(h, 'producer:paused');
		assert.deepEqual(await ok(h, 'host:mute', { identity: 'pat', source: 'microphone' }), { affected: 1 });
		assert.deepEqual(await told, { kind: 'muted', source: 'microphone', by: 'Host', mayUnmute: true });
		assert.deepEqual(await paused, { producerId, peerId: 'pat' });
		assert.equal(t.sfu.rooms.get(room)?.producer(producerId).paused, true);
		// Self-unmute is allowed by default.
		await ok(p, 'media:resumeProducer', { producerId });
		assert.equal(t.sfu.rooms.get(room)?.producer(producerId).paused, false);
		h.disconnect();
		p.disconnect();
	});

	it('with "hosts must allow unmuting", refuses self-unmute until a host asks', async () => {
		const room = 'mute-locked';
		const h = await host(room);
		await ok(h, 'host:settings', { allowSelfUnmute: false });
		const p = await participant(room, 'pat');
		await joinRoom(h);
		await joinRoom(p);
		const producerId = await publishMic(p, 3002);
		const told = next(p, 'moderation:notice');
		await ok(h, 'host:mute', { identity: 'pat', source: 'microphone' });
		const notice = await told;
		assert.equal(notice.kind === 'muted' && notice.mayUnmute, false);
		assert.equal(code(await request(p, 'media:resumeProducer', { producerId })), 'forbidden');
		const asked = next(p, 'moderation:notice');
		await ok(h, 'host:askUnmute', { identity: 'pat' });
		assert.deepEqual(await asked, { kind: 'ask-unmute', by: 'Host' });
		await ok(p, 'media:resumeProducer', { producerId });
		h.disconnect();
		p.disconnect();
	});

	it('stops a camera and a screen share (closes the producer; blocked when hosts must allow) and mutes everyone but the host', async () => {
		const room = 'stop-cam';
		const h = await host(room);
		const a = await participant(room, 'ann');
		const b = await participant(room, 'bob');
		for (const s of [h, a, b]) await joinRoom(s);
		const hostMic = await publishMic(h, 3010);
		const annMic = await publishMic(a, 3011);
		const bobMic = await publishMic(b, 3012);
		const send = await ok(a, 'media:createTransport', { direction: 'send' });
		const cam = await ok(a, 'media:produce', {
			transportId: send.id,
			kind: 'video',
			rtpParameters: syntheticRtpParameters('video', 3013),
			source: 'camera',
		});
		const closed = next(h, 'producer:closed', (e) => e.producerId === cam.producerId);
		assert.deepEqual(await ok(h, 'host:mute', { identity: 'ann', source: 'camera' }), { affected: 1 });
		await closed;
		// A screen share is stopped the same way; with "hosts must allow unmuting" it cannot come back by itself.
		const screen = (mid: string, ssrc: number) =>
			request(a, 'media:produce', { transportId: send.id, kind: 'video', rtpParameters: { ...syntheticRtpParameters('video', ssrc), mid }, source: 'screen' });
		const shared = await screen('2', 3014);
		assert.ok(shared.ok);
		await ok(h, 'host:settings', { allowSelfUnmute: false });
		const screenClosed = next(h, 'producer:closed', (e) => e.producerId === shared.data.producerId);
		assert.deepEqual(await ok(h, 'host:mute', { identity: 'ann', source: 'screen' }), { affected: 1 });
		await screenClosed;
		assert.equal(code(await screen('3', 3015)), 'forbidden');
		await ok(h, 'host:settings', { allowSelfUnmute: true });
		assert.deepEqual(await ok(h, 'host:muteAll', {}), { affected: 2 });
		const sfuRoom = t.sfu.rooms.get(room)!;
		assert.equal(sfuRoom.producer(annMic).paused, true);
		assert.equal(sfuRoom.producer(bobMic).paused, true);
		assert.equal(sfuRoom.producer(hostMic).paused, false);
		for (const s of [h, a, b]) s.disconnect();
	});

	it('removes a participant: told, disconnected, refused on rejoin with the same token', async () => {
		const room = 'remove';
		const h = await host(room);
		const token = t.token({ room, identity: 'rob', name: 'Rob' });
		const r = await t.client(token);
		await joinRoom(r);
		const ended = next(r, 'session:ended');
		const left = next(h, 'meeting:state', (s) => !s.members.some((m) => m.identity === 'rob'));
		await ok(h, 'host:remove', { identity: 'rob' });
		assert.deepEqual(await ended, { reason: 'removed' });
		await left;
		const error = await connectError(t.url, { token });
		assert.equal(error.data?.code, 'unauthorized');
		assert.match(error.message, /removed/);
		// Same identity, another room: unaffected.
		(await t.client(t.token({ room: 'elsewhere', identity: 'rob' }))).disconnect();
		h.disconnect();
	});

	it('locks the meeting: newcomers are refused, people inside and hosts are not', async () => {
		const room = 'lock';
		const h = await host(room);
		const p = await participant(room, 'pat');
		await entered(h, 'pat');
		await ok(h, 'host:settings', { locked: true });
		const refused = await connectError(t.url, { token: t.token({ room, identity: 'late' }) });
		assert.equal(refused.data?.code, 'room_locked');
		// A second connection of someone already in (e.g. a reconnect) still works; so does another host.
		(await participant(room, 'pat')).disconnect();
		(await host(room, 'host2')).disconnect();
		await ok(h, 'host:settings', { locked: false });
		(await participant(room, 'late')).disconnect();
		h.disconnect();
		p.disconnect();
	});

	it('ends the meeting for everyone', async () => {
		const room = 'end';
		const h = await host(room);
		const p = await participant(room, 'pat');
		await joinRoom(h);
		await joinRoom(p);
		const ended = next(p, 'session:ended');
		const hostTold = next(h, 'session:ended');
		const disconnected = new Promise((resolve) => p.once('disconnect', resolve));
		await ok(h, 'host:end', {});
		assert.deepEqual(await ended, { reason: 'meeting-ended' });
		assert.deepEqual(await hostTold, { reason: 'meeting-ended' }, 'the host who ended it is told too');
		await disconnected;
		await new Promise((resolve) => setTimeout(resolve, 50));
		assert.equal(t.sfu.rooms.get(room)?.closed ?? true, true);
		assert.equal(t.server.meetings.get(room), undefined);
	});
});

describe('waiting room', () => {
	it('holds knockers without media or chat until admitted; denies others', async () => {
		const room = 'waiting';
		const h = await host(room);
		await ok(h, 'host:settings', { waitingRoom: true });
		const inside = await participant(room, 'vip', { room, grants: { skipWaitingRoom: true } });
		const listed = next(h, 'waiting:list', (l) => l.people.length === 2);
		const w = await participant(room, 'walt');
		const statusWalt = first(w, 'waiting:status');
		const d = await participant(room, 'dora');
		const statusDora = first(d, 'waiting:status');
		assert.deepEqual(
			(await listed).people.map((p) => p.identity),
			['walt', 'dora'],
		);
		assert.equal((await statusWalt).state, 'waiting');
		assert.equal((await statusDora).state, 'waiting');

		// Nothing works while waiting: no media, no chat, and room traffic does not reach them.
		for (const [name, payload] of [
			['media:getRouterRtpCapabilities', {}],
			['room:join', { rtpCapabilities: {} }],
			// Asking for the receive side in the same answer does not get past the gate either.
			['room:join', { rtpCapabilities: {}, receive: true }],
			['media:createTransport', { direction: 'recv' }],
			['chat:send', { id: 'waiting-msg-1', text: 'hi' }],
			['chat:sync', { afterSeq: 0 }],
			['hand:raise', {}],
		] as const) {
			assert.equal(code(await request(w, name, payload as never)), 'not_admitted', name);
		}
		let leaked = 0;
		for (const event of ['chat:message', 'meeting:state', 'presence:update', 'peer:joined', 'reaction'] as const) {
			w.on(event, () => leaked++);
		}
		await joinRoom(inside);
		await ok(inside, 'chat:send', { id: 'inside-msg-1', text: 'secret' });
		await ok(inside, 'reaction:send', { emoji: '👍' });
		await new Promise((resolve) => setTimeout(resolve, 100));
		assert.equal(leaked, 0, 'a waiting person received room traffic');

		// Admit one: told, then in the meeting like anyone else.
		const admitted = next(w, 'waiting:status');
		const waltIn = next(h, 'meeting:state', (s) => s.members.some((m) => m.identity === 'walt'));
		assert.deepEqual(await ok(h, 'host:admit', { identity: 'walt' }), { admitted: ['walt'] });
		assert.equal((await admitted).state, 'admitted');
		await waltIn;
		const message = next(w, 'chat:message');
		await ok(inside, 'chat:send', { id: 'inside-msg-2', text: 'welcome' });
		assert.equal((await message).text, 'welcome');
		await joinRoom(w);

		// Deny the rest: told, disconnected.
		const denied = next(d, 'waiting:status');
		const gone = new Promise((resolve) => d.once('disconnect', resolve));
		assert.deepEqual(await ok(h, 'host:deny', { all: true }), { denied: ['dora'] });
		assert.equal((await denied).state, 'denied');
		await gone;
		assert.deepEqual(t.server.meetings.get(room)?.waitingList(), []);
		for (const s of [h, inside, w]) s.disconnect();
	});

	it('lets admitted people reconnect without waiting again; a leaver leaves the list', async () => {
		const room = 'waiting-again';
		const h = await host(room);
		await ok(h, 'host:settings', { waitingRoom: true });
		const w = await participant(room, 'walt');
		await first(h, 'waiting:list', (l) => l.people.length === 1);
		const emptied = next(h, 'waiting:list', (l) => l.people.length === 0);
		w.disconnect();
		await emptied;
		const w2 = await participant(room, 'walt');
		await next(h, 'waiting:list', (l) => l.people.length === 1);
		const admitted = next(w2, 'waiting:status', (s) => s.state === 'admitted');
		await ok(h, 'host:admit', { all: true });
		await admitted;
		w2.io.engine.close(); // a dropped connection (not a goodbye) keeps the admission
		await new Promise((resolve) => setTimeout(resolve, 50));
		const w3 = await participant(room, 'walt');
		assert.deepEqual(await first(w3, 'meeting:you'), { role: 'participant', firstInRoom: false });
		h.disconnect();
		w3.disconnect();
	});
});

describe('hands and reactions', () => {
	it('keeps raised hands in order; a host lowers one; reactions reach everyone', async () => {
		const room = 'hands';
		const h = await host(room);
		const a = await participant(room, 'ann');
		const b = await participant(room, 'bob');
		await entered(h, 'bob');
		await ok(b, 'hand:raise', {});
		const two = next(h, 'meeting:state', (s) => s.hands.length === 2);
		await ok(a, 'hand:raise', {});
		assert.deepEqual(
			(await two).hands.map((x) => x.identity),
			['bob', 'ann'],
		);
		const told = next(b, 'moderation:notice');
		await ok(h, 'hand:lower', { identity: 'bob' });
		assert.deepEqual(await told, { kind: 'hand-lowered', by: 'Host' });
		const one = next(a, 'meeting:state', (s) => s.hands.length === 0);
		await ok(a, 'hand:lower', {});
		await one;
		const reaction = next(h, 'reaction');
		await ok(a, 'reaction:send', { emoji: '🎉' });
		assert.deepEqual({ ...(await reaction), at: 0 }, { identity: 'ann', emoji: '🎉', at: 0 });
		assert.equal(code(await request(a, 'reaction:send', { emoji: 'spam' } as never)), 'bad_request');
		const flood = await Promise.all(Array.from({ length: 12 }, () => request(a, 'reaction:send', { emoji: '👍' })));
		assert.ok(flood.some((r) => code(r) === 'rate_limited'));
		for (const s of [h, a, b]) s.disconnect();
	});
});

describe('configuration', () => {
	it('new meetings start with rooms.waitingRoom and rooms.allowSelfUnmute', async () => {
		const configured = await startTestServer({ env: { PARLEY_ROOMS_WAITING_ROOM: 'true', PARLEY_ROOMS_ALLOW_SELF_UNMUTE: 'false' } });
		try {
			const h = await connect(configured, configured.token({ room: 'configured', identity: 'host', name: 'Host', role: 'host' }));
			const state = await first(h, 'meeting:state');
			assert.deepEqual(state.settings, { locked: false, waitingRoom: true, allowSelfUnmute: false });
			h.disconnect();
		} finally {
			await configured.close();
		}
	});
});
