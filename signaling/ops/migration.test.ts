/**
 * A worker dying mid-call, seen through Socket.IO: the participants on it are told to
 * reconnect their media (`media:reconnect`), join again on the same connection without
 * leaving (nobody sees them leave), and the metrics count the move.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { joinRoom, next, ok, startTestServer, syntheticRtpParameters, type TestServer } from '../../test/harness.ts';

const run = promisify(execFile);
const ADMIN_CLI = fileURLToPath(new URL('../cli/admin.ts', import.meta.url));

describe('migration', () => {
	let t: TestServer;
	before(async () => {
		t = await startTestServer();
	});
	after(async () => t?.close());

	it('a dead worker\'s participants reconnect their media without leaving the meeting', { timeout: 15_000 }, async () => {
		const alice = await t.client(t.token({ room: 'm', identity: 'alice' }));
		const bob = await t.client(t.token({ room: 'm', identity: 'bob' }));
		const { rtpCapabilities } = await ok(alice, 'media:getRouterRtpCapabilities', {});
		// Alice's client asks for consumers pushed with producer:new (what the browser client does).
		await ok(alice, 'room:join', { rtpCapabilities, pushConsumers: true });
		await joinRoom(bob);
		const send = await ok(alice, 'media:createTransport', { direction: 'send' });
		const produced = await ok(alice, 'media:produce', {
			transportId: send.id,
			kind: 'video',
			rtpParameters: syntheticRtpParameters('video', 1111),
			source: 'camera',
		});
		let left = 0;
		bob.on('peer:left', () => left++);
		// Bob's media was on the same worker: he is told to start over, not about each producer
		// that went with it (his client would spend the first moments of the move on those).
		const bobHeard: string[] = [];
		bob.on('producer:closed', () => bobHeard.push('producer:closed'));
		bob.on('media:reconnect', () => bobHeard.push('media:reconnect'));
		const aliceTold = next(alice, 'media:reconnect', () => true, 5000);
		const bobTold = next(bob, 'media:reconnect', () => true, 5000);

		process.kill(t.sfu.pool.workers[0]!.worker.pid, 'SIGKILL');
		const [toAlice, toBob] = [await aliceTold, await bobTold];
		assert.equal(toAlice.reason, 'worker-lost');
		// The server set up their new media sessions on the live worker already (one message, no round trip).
		for (const [told, self, other] of [[toAlice, 'alice', 'bob'], [toBob, 'bob', 'alice']] as const) {
			assert.ok(told.prepared, `${self}'s new media session comes with the message`);
			assert.equal(told.prepared.self.id, self);
			assert.deepEqual(told.prepared.peers.map((p) => p.id), [other]);
			assert.ok(told.prepared.send?.id, 'a send transport');
			assert.ok(told.prepared.receive?.transport.id, 'a receive transport');
			assert.deepEqual(told.prepared.receive.consumers, [], 'nothing to consume: everyone\'s media went with the worker');
			assert.equal(t.sfu.rooms.get('m')?.peers.get(self)?.transports.has(told.prepared.send.id), true);
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
		assert.deepEqual(bobHeard, ['media:reconnect']);
		assert.equal(t.sfu.rooms.get('m')?.peers.get('alice')?.producers.has(produced.producerId), false, 'her producer went with the worker');

		// Bob publishes on the send transport that came with the message: Alice hears of it with her
		// consumer of it made already on her prepared receive transport (no consume round trip).
		const bobsNew = next(alice, 'producer:new', (p) => p.peerId === 'bob', 5000);
		await ok(bob, 'media:produce', { transportId: toBob.prepared!.send!.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 4444), source: 'microphone' });
		const bobsProducer = await bobsNew;
		assert.equal(bobsProducer.consumer?.transportId, toAlice.prepared!.receive!.transport.id);
		assert.equal(bobsProducer.consumer?.producerId, bobsProducer.id);
		await ok(alice, 'media:resumeConsumer', { consumerId: bobsProducer.consumer!.id });
		// Alice's producers after the move come to Bob plain: his client did not ask for pushed consumers.
		const alicesNew = next(bob, 'producer:new', (p) => p.peerId === 'alice', 5000);
		await ok(alice, 'media:produce', { transportId: toAlice.prepared!.send!.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 6666), source: 'microphone' });
		assert.equal((await alicesNew).consumer, undefined);

		// Alice sets her media up again on the same connection: she is still the same participant.
		const again = await joinRoom(alice);
		assert.equal(again.self.id, 'alice');
		assert.deepEqual(again.peers.map((p) => p.id), ['bob']);
		const send2 = await ok(alice, 'media:createTransport', { direction: 'send' });
		const newProducer = next(bob, 'producer:new', () => true, 5000);
		await ok(alice, 'media:produce', { transportId: send2.id, kind: 'video', rtpParameters: syntheticRtpParameters('video', 2222), source: 'camera' });
		assert.equal((await newProducer).peerId, 'alice');
		assert.equal(left, 0, 'nobody saw anyone leave');
		const metrics = await (await fetch(`${t.url}/metrics`)).text();
		assert.match(metrics, /^parley_peer_migrations_total 2$/m);
		assert.match(metrics, /^parley_worker_deaths_total 1$/m);
	});

	it('in a room across two workers, who is on the live one hears of the producers that went with the dead one', { timeout: 20_000 }, async () => {
		const two = await startTestServer({ env: { PARLEY_MEDIA_WORKERS: '2', PARLEY_PLACEMENT_SPREAD_CONSUMERS: '0' } });
		try {
			const [dan, eve] = [await two.client(two.token({ room: 's', identity: 'dan' })), await two.client(two.token({ room: 's', identity: 'eve' }))];
			await joinRoom(dan);
			// Dan's transport makes his worker the busier one: Eve is placed on the other.
			const send = await ok(dan, 'media:createTransport', { direction: 'send' });
			await joinRoom(eve);
			const room = two.sfu.rooms.get('s')!;
			const danWorker = room.peers.get('dan')!.workerIndex;
			assert.notEqual(room.peers.get('eve')!.workerIndex, danWorker, 'placed by headroom: one per worker');
			const produced = await ok(dan, 'media:produce', { transportId: send.id, kind: 'video', rtpParameters: syntheticRtpParameters('video', 3333), source: 'camera' });
			const closed = next(eve, 'producer:closed', (p) => p.producerId === produced.producerId, 5000);
			const eveSend = await ok(eve, 'media:createTransport', { direction: 'send' });
			const evesMic = await ok(eve, 'media:produce', { transportId: eveSend.id, kind: 'audio', rtpParameters: syntheticRtpParameters('audio', 5555), source: 'microphone' });
			const danTold = next(dan, 'media:reconnect', () => true, 5000);
			process.kill(two.sfu.pool.workers[danWorker]!.worker.pid, 'SIGKILL');
			// Dan's new session comes with a consumer of what is still live (Eve's microphone, piped to his new router if need be).
			const { prepared } = await danTold;
			assert.deepEqual(prepared?.receive?.consumers.map((c) => c.producerId), [evesMic.producerId]);
			assert.deepEqual(await closed, { producerId: produced.producerId, peerId: 'dan' });
		} finally {
			await two.close();
		}
	});

	it('`npm run admin -- restart-worker` moves the worker\'s participants the same way', { timeout: 30_000 }, async () => {
		const carol = await t.client(t.token({ room: 'r', identity: 'carol' }));
		await joinRoom(carol);
		// The wait includes starting the admin CLI (a Node process): seconds on a loaded machine.
		const told = next(carol, 'media:reconnect', () => true, 15_000);
		const pid = t.sfu.pool.workers[0]!.worker.pid;
		const { stdout } = await run(process.execPath, [ADMIN_CLI, 'restart-worker', '0', '--url', t.url]);
		assert.match(stdout, /worker 0 closed/);
		assert.equal((await told).reason, 'worker-lost');
		assert.notEqual(t.sfu.pool.workers[0]!.worker.pid, pid, 'replaced');
		await assert.rejects(run(process.execPath, [ADMIN_CLI, 'restart-worker', '7', '--url', t.url]), /no live worker 7/);
	});
});
