/**
 * Every request of the protocol, sent with what a hostile or broken client could send: the
 * wrong type, missing and extra fields, binary, huge numbers, ids of another room's objects,
 * no acknowledgement at all. Each is answered `bad_request` (or refused as not found /
 * forbidden), never `internal`, never `ok`; nothing of the other room is told or changed;
 * and afterwards the meeting still works for everyone.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { requestSchemas, type RequestName } from './protocol/index.ts';
import { joinRoom, next, ok, rawRequest, startTestServer, syntheticRtpParameters, type TestClient, type TestServer } from '../test/harness.ts';

let t: TestServer;
before(async () => {
	// The rate limit is not under test here (hostile.connections.test.ts tests it).
	t = await startTestServer({ env: { PARLEY_LIMITS_REQUESTS_PER_SECOND: '10000', PARLEY_LIMITS_REQUESTS_BURST: '10000' } });
});
after(async () => t.close());

const names = Object.keys(requestSchemas) as RequestName[];

/** Payloads of every shape, none of which should get past the edge for most requests. */
const JUNK: readonly unknown[] = [
	undefined,
	null,
	0,
	-1,
	Number.MAX_SAFE_INTEGER,
	'x',
	'',
	true,
	[],
	[{}],
	JSON.parse('{"__proto__":{"admin":true}}'),
	JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
	{ extra: 1 },
	{ transportId: 42 },
	{ producerId: null },
	{ consumerId: ['a'] },
	{ id: 'a'.repeat(10_000) },
	{ text: { toString: 'x' } },
	Buffer.from('binary payload'),
];

async function sendAll(socket: TestClient, payloads: readonly unknown[], label: string, answers: string[]): Promise<void> {
	for (const name of names) {
		const schema = requestSchemas[name];
		for (const payload of payloads) {
			if (schema.safeParse(payload).success) continue; // a valid request: not junk for this one
			const result = await rawRequest(socket, name, payload);
			const shown = `${label} ${name} ${JSON.stringify(payload)?.slice(0, 60)}`;
			assert.equal(result.ok, false, `${shown}: refused`);
			if (!result.ok) {
				assert.equal(result.error.code, 'bad_request', `${shown}: ${result.error.code} ${result.error.message}`);
				assert.equal(typeof result.error.message, 'string');
				answers.push(result.error.code);
			}
		}
	}
}

it('every request with junk is bad_request, ids of another room are not found, nothing crashes and the meetings go on', { timeout: 120_000 }, async () => {
	// Room B: a victim with a producer, a transport and a consumer-to-be.
	const victim = await t.client(t.token({ room: 'fuzz-b', identity: 'victim', name: 'Victim' }));
	await joinRoom(victim);
	const vSend = await ok(victim, 'media:createTransport', { direction: 'send' });
	const vProducer = await ok(victim, 'media:produce', { transportId: vSend.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 5555), source: 'microphone' });
	const vRecv = await ok(victim, 'media:createTransport', { direction: 'recv' });
	const victimEvents: string[] = [];
	victim.onAny((event: string) => victimEvents.push(event));

	// Room A: the attacker (a host, to reach host-only requests too) and a bystander.
	const attacker = await t.client(t.token({ room: 'fuzz-a', identity: 'attacker', name: 'Attacker', role: 'host' }));
	const bystander = await t.client(t.token({ room: 'fuzz-a', identity: 'bystander', name: 'Bystander' }));
	await joinRoom(attacker);
	await joinRoom(bystander);
	const aRecv = await ok(attacker, 'media:createTransport', { direction: 'recv' });

	const answers: string[] = [];
	await sendAll(attacker, JUNK, 'joined', answers);

	// Well-shaped requests naming room B's objects: never found from room A.
	const foreign: Array<[RequestName, unknown]> = [
		['media:consume', { transportId: aRecv.id, producerId: vProducer.producerId }],
		['media:pauseProducer', { producerId: vProducer.producerId }],
		['media:resumeProducer', { producerId: vProducer.producerId }],
		['media:closeProducer', { producerId: vProducer.producerId }],
		['media:restartIce', { transportId: vRecv.id }],
		['media:closeTransport', { transportId: vSend.id }],
		['media:connectTransport', { transportId: vRecv.id, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] } }],
		['host:mute', { peerId: 'victim', source: 'microphone' }],
		['host:remove', { peerId: 'victim' }],
	];
	for (const [name, payload] of foreign) {
		const result = await rawRequest(attacker, name, payload);
		assert.equal(result.ok, false, `${name} on room B's object from room A`);
		if (!result.ok) assert.ok(['not_found', 'bad_request', 'forbidden'].includes(result.error.code), `${name}: ${result.error.code} ${result.error.message}`);
	}

	// No acknowledgement at all (fire and forget), and events outside the protocol.
	const emit = attacker.emit.bind(attacker) as (event: string, ...args: unknown[]) => void;
	for (const name of names) for (const payload of JUNK.slice(0, 6)) emit(name, payload);
	const unknown = await rawRequest(attacker, 'admin:everything', {});
	assert.equal(unknown.ok, false);

	// A socket that has not joined yet gets the same clear answers.
	const early = await t.client(t.token({ room: 'fuzz-a', identity: 'early', name: 'Early' }));
	await sendAll(early, JUNK.slice(0, 8), 'not joined', answers);
	early.disconnect();

	console.log(`fuzz: ${answers.length} junk requests over ${names.length} request names answered bad_request`);
	assert.ok(answers.length > names.length * 5, 'most junk was sent');

	// Room B was not touched: its producer and transports are as they were, and it heard nothing of A.
	const roomB = t.sfu.rooms.get('fuzz-b');
	assert.ok(roomB?.peer('victim').producers.has(vProducer.producerId), "room B's producer is still there");
	assert.equal(roomB?.peer('victim').producers.get(vProducer.producerId)?.paused, false);
	assert.deepEqual(victimEvents.filter((e) => !/^(presence|quality|speaker|connection)/.test(e)), [], 'room B heard nothing');

	assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted');
	assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');

	// The meeting still works: the attacker's chat reaches the bystander, and the server is healthy.
	const heard = next(bystander, 'chat:message', (m) => m.text === 'still here');
	await ok(attacker, 'chat:send', { id: 'fuzz-after-00001', text: 'still here' });
	await heard;
	assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
	for (const s of [attacker, bystander, victim]) s.disconnect();
});
