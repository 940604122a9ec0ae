/**
 * Integration: the integrator API over real HTTP against the real server (Socket.IO,
 * mediasoup worker): signatures, every endpoint, typed errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectError, joinRoom, next, ok, request, startTestServer, syntheticRtpParameters, type TestServer } from '../../test/harness.ts';
import { apiRequestHeaders, signApiRequest } from './signature.ts';

const KEY = 'integrator';
const SECRET = 'api-secret-0123456789abcdef0123456789abcdef';
let t: TestServer;

before(async () => {
	t = await startTestServer({ env: { PARLEY_API_KEYS: `${KEY}:${SECRET},other:${'x'.repeat(32)}` } });
});
after(async () => {
	await t.close();
});

async function api(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
	const text = body === undefined ? '' : JSON.stringify(body);
	const res = await fetch(`${t.url}/api/server${path}`, {
		method,
		headers: {
			...(text ? { 'content-type': 'application/json' } : {}),
			...(headers ?? apiRequestHeaders(KEY, SECRET, method, `/api/server${path}`, text)),
		},
		...(text ? { body: text } : {}),
	});
	return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
}

describe('server API authentication', () => {
	it('refuses unsigned, unknown-key, badly signed, stale and tampered requests', async () => {
		const path = '/api/server/rooms';
		const now = Math.floor(Date.now() / 1000);
		const cases: [string, Record<string, string>][] = [
			['unsigned', {}],
			['unknown key', apiRequestHeaders('nobody', SECRET, 'GET', path, '')],
			['wrong secret', apiRequestHeaders(KEY, 'y'.repeat(40), 'GET', path, '')],
			['stale', apiRequestHeaders(KEY, SECRET, 'GET', path, '', Date.now() - 600_000)],
			[
				'signed for another path',
				{ 'x-parley-key': KEY, 'x-parley-timestamp': String(now), 'x-parley-signature': signApiRequest(SECRET, now, 'GET', '/api/server/other', '') },
			],
			['garbage signature', { 'x-parley-key': KEY, 'x-parley-timestamp': String(now), 'x-parley-signature': 'zz' }],
		];
		for (const [label, headers] of cases) {
			const res = await api('GET', '/rooms', undefined, headers);
			assert.equal(res.status, 401, label);
			assert.equal(res.body.error?.code, 'unauthorized', label);
		}
		// A body changed after signing is refused too.
		const signed = apiRequestHeaders(KEY, SECRET, 'POST', '/api/server/tokens', JSON.stringify({ room: 'r', name: 'A' }));
		const tampered = await api('POST', '/tokens', { room: 'r', name: 'Mallory', role: 'host' }, signed);
		assert.equal(tampered.status, 401);
		// A join token is not an API credential.
		const res = await fetch(`${t.url}/api/server/rooms`, { headers: { authorization: `Bearer ${t.token({ room: 'r' })}` } });
		assert.equal(res.status, 401);
	});

	it('is off without keys', async () => {
		const off = await startTestServer();
		try {
			const res = await fetch(`${off.url}/api/server/rooms`);
			assert.equal(res.status, 401);
			assert.match(((await res.json()) as { error: { message: string } }).error.message, /no API keys/);
		} finally {
			await off.close();
		}
	});
});

describe('server API', () => {
	it('mints join tokens, lists rooms and participants with their tracks', async () => {
		const minted = await api('POST', '/tokens', { room: 'api-room', identity: 'ivy', name: 'Ivy', role: 'host' });
		assert.equal(minted.status, 200);
		assert.equal(minted.body.identity, 'ivy');
		const ivy = await t.client(minted.body.token as string);
		const joe = await t.client(t.token({ room: 'api-room', identity: 'joe', name: 'Joe' }));
		await joinRoom(ivy);
		await joinRoom(joe);
		const send = await ok(joe, 'media:createTransport', { direction: 'send' });
		const { producerId } = await ok(joe, 'media:produce', {
			transportId: send.id,
			kind: 'audio',
			rtpParameters: syntheticRtpParameters('audio', 4001),
			source: 'microphone',
		});
		await ok(joe, 'hand:raise', {});

		const rooms = await api('GET', '/rooms');
		const room = (rooms.body.rooms as { room: string; participants: number }[]).find((r) => r.room === 'api-room');
		assert.equal(room?.participants, 2);
		const list = await api('GET', '/rooms/api-room/participants');
		const people = list.body.participants as { identity: string; role: string; handRaisedAt: number | null; tracks: { id: string; source: string; paused: boolean }[] }[];
		assert.deepEqual(people.map((p) => [p.identity, p.role]).sort(), [
			['ivy', 'host'],
			['joe', 'participant'],
		]);
		const joeEntry = people.find((p) => p.identity === 'joe')!;
		assert.ok(joeEntry.handRaisedAt);
		assert.deepEqual(joeEntry.tracks, [{ id: producerId, kind: 'audio', source: 'microphone', paused: false }]);

		// Mute a track.
		const told = next(joe, 'moderation:notice');
		assert.deepEqual((await api('POST', '/rooms/api-room/participants/joe/mute', { source: 'microphone' })).body, { affected: 1 });
		assert.equal((await told).kind, 'muted');
		assert.equal(t.sfu.rooms.get('api-room')?.producer(producerId).paused, true);

		// Update grants: no more chat, no more publishing (the producer closes).
		const closed = next(ivy, 'producer:closed', (p) => p.producerId === producerId);
		const grants = await api('POST', '/rooms/api-room/participants/joe/grants', { grants: { chat: false, publish: false } });
		assert.deepEqual(grants.body, { sessions: 1 });
		await closed;
		const chat = await request(joe, 'chat:send', { id: 'api-grants-1', text: 'hi' });
		assert.equal(!chat.ok && chat.error.code, 'forbidden');

		// Remove: the session ends, the identity is refused.
		const ended = next(joe, 'session:ended');
		assert.equal((await api('POST', '/rooms/api-room/participants/joe/remove')).status, 200);
		assert.equal((await ended).reason, 'removed');
		const refused = await connectError(t.url, { token: t.token({ room: 'api-room', identity: 'joe' }) });
		assert.equal(refused.data?.code, 'unauthorized');

		// End the room.
		const over = next(ivy, 'session:ended');
		assert.equal((await api('POST', '/rooms/api-room/end')).status, 200);
		assert.equal((await over).reason, 'meeting-ended');
		assert.equal((await api('POST', '/rooms/api-room/end')).status, 404);
	});

	it('answers bad input with typed errors', async () => {
		const cases: [string, string, unknown, number, string][] = [
			['POST', '/tokens', { room: 'bad room!', name: 'A' }, 400, 'bad_request'],
			['POST', '/tokens', { room: 'r', name: 'A', role: 'admin' }, 400, 'bad_request'],
			['POST', '/tokens', { room: 'r', name: 'A', extra: 1 }, 400, 'bad_request'],
			['GET', '/rooms/nope/participants', undefined, 404, 'not_found'],
			['POST', '/rooms/nope/participants/x/mute', { source: 'microphone' }, 404, 'not_found'],
			['POST', '/rooms/r/participants/x/mute', { source: 'speakers' }, 400, 'bad_request'],
			['POST', '/rooms/r/participants/x/grants', { grants: {} }, 400, 'bad_request'],
			['GET', '/nothing-here', undefined, 404, 'not_found'],
		];
		for (const [method, path, body, status, code] of cases) {
			const res = await api(method, path, body);
			assert.equal(res.status, status, `${method} ${path}`);
			assert.equal(res.body.error?.code, code, `${method} ${path}`);
		}
		const malformed = await fetch(`${t.url}/api/server/tokens`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...apiRequestHeaders(KEY, SECRET, 'POST', '/api/server/tokens', '{nope') },
			body: '{nope',
		});
		assert.equal(malformed.status, 400);
	});
});

describe('server API recording', () => {
	it('starts, reports and stops a meeting\'s recording; not_found without a meeting, invalid_state when not recording', async () => {
		assert.equal((await api('POST', '/rooms/api-rec-none/recording/start')).status, 404);
		const host = await t.client(t.token({ room: 'api-rec', identity: 'h', role: 'host' }));
		await joinRoom(host);
		assert.equal((await api('POST', '/rooms/api-rec/recording/stop')).body.error?.code, 'invalid_state');
		// A slow disk: the recording is listed once its start is answered, not once its manifest happens to land.
		const store = t.server.recordings.store;
		const save = store.save.bind(store);
		store.save = async (info) => {
			await new Promise((resolve) => setTimeout(resolve, 300));
			return save(info);
		};
		const started = await api('POST', '/rooms/api-rec/recording/start');
		store.save = save;
		assert.equal(started.status, 200);
		const told = (started.body.recording as { active: boolean; id: string });
		assert.equal(told.active, true);
		const state = await api('GET', '/rooms/api-rec/recording');
		assert.deepEqual((state.body.recording as { id: string }).id, told.id);
		const stopped = await api('POST', '/rooms/api-rec/recording/stop');
		assert.equal(stopped.status, 200);
		assert.equal((stopped.body.recording as { active: boolean }).active, false);
		const list = await api('GET', '/rooms/api-rec/recordings');
		assert.equal((list.body.recordings as unknown[]).length, 1);
		host.disconnect();
	});

	it('a stop that arrives while the start is still writing wins: nobody is told "recording" after it', async () => {
		const host = await t.client(t.token({ room: 'api-rec-race', identity: 'h', role: 'host' }));
		await joinRoom(host);
		const told: boolean[] = [];
		const onChange = (room: string, state: { active: boolean }): void => {
			if (room === 'api-rec-race') told.push(state.active);
		};
		t.server.recordings.on('change', onChange);
		const store = t.server.recordings.store;
		const save = store.save.bind(store);
		let writing!: () => void;
		const written = new Promise<void>((resolve) => (writing = resolve));
		store.save = async (info) => {
			writing();
			await new Promise((resolve) => setTimeout(resolve, 300));
			return save(info);
		};
		const starting = api('POST', '/rooms/api-rec-race/recording/start');
		await written;
		store.save = save;
		const stopped = await api('POST', '/rooms/api-rec-race/recording/stop');
		const started = await starting;
		t.server.recordings.off('change', onChange);
		assert.equal(stopped.status, 200);
		assert.equal(started.status, 200);
		assert.equal((started.body.recording as { active: boolean }).active, false, 'the start answers with the state after the stop');
		assert.deepEqual(told, [false], 'only the stop\'s change is emitted');
		assert.equal(((await api('GET', '/rooms/api-rec-race/recording')).body.recording as { active: boolean }).active, false);
		host.disconnect();
	});
});
