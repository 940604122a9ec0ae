/**
 * Presence and direct messages across a `kill -9` of the server process (a real
 * `node signaling/main.ts`, SQLite in a data folder kept across the restart):
 * who left stays left, who was here shows as reconnecting (the list never empties),
 * comes back online or times out to left; a direct message written while its recipient
 * is not back yet is accepted and delivered when they return.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { io as connect } from 'socket.io-client';
import { mintToken } from './auth/tokens.ts';
import type { Presence } from './protocol/index.ts';
import { next, ok, type TestClient } from '../test/harness.ts';
import { startParley, type ParleyServer } from '../bench/lib/parleyServer.ts';
import { freePort, randomMediaPort } from '../test/ports.ts';

const SECRET = 'restart-test-secret-0123456789abcdef0123456789';
const auth = { jwtSecrets: [SECRET], audience: 'parley', issuer: 'parley', tokenTtlSeconds: 3600, maxTokenLifetimeSeconds: 86400 };

/** The real server process, on this port and data folder (started again on both after the kill). */
function startServer(port: number, dataDir: string): Promise<ParleyServer> {
	return startParley({
		httpPort: port,
		mediaPort: randomMediaPort(),
		dataDir,
		env: { PARLEY_AUTH_JWT_SECRETS: SECRET, PARLEY_PRESENCE_LEAVE_AFTER_MS: '1500' },
	});
}

it('presence and a direct message across a kill -9 of the server', { timeout: 120_000 }, async (t) => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-restart-'));
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const room = 'restart';
	const sockets: TestClient[] = [];
	const join = (identity: string, reconnection: boolean): TestClient => {
		const socket: TestClient = connect(url, {
			auth: { token: mintToken(auth, { room, identity, name: identity.toUpperCase() }).token },
			transports: ['websocket'],
			reconnection,
			reconnectionDelay: 100,
			reconnectionDelayMax: 300,
			forceNew: true,
		});
		sockets.push(socket);
		return socket;
	};
	let server = await startServer(port, dataDir);
	try {
		// ann stays (reconnects by herself), ben comes back later, cat leaves, dan never comes back.
		const ann = join('ann', true);
		const annView = new Map<string, Presence['state']>();
		const annSeen: string[] = [];
		ann.on('presence:snapshot', ({ participants }) => {
			annView.clear();
			for (const p of participants) annView.set(p.identity, p.state);
			annSeen.push(`snapshot ${[...annView].map(([who, s]) => `${who}:${s}`).sort().join(' ')}`);
		});
		ann.on('presence:update', (p) => {
			annView.set(p.identity, p.state);
			annSeen.push(`${p.identity}:${p.state}`);
		});
		await next(ann, 'presence:snapshot', () => true, 15_000);
		const ben = join('ben', false);
		const cat = join('cat', false);
		const dan = join('dan', false);
		await next(ann, 'presence:update', () => ['ben', 'cat', 'dan'].every((who) => annView.get(who) === 'online'), 15_000);
		cat.disconnect(); // a goodbye: left at once
		await next(ann, 'presence:update', (p) => p.identity === 'cat' && p.state === 'left');
		await new Promise((r) => setTimeout(r, 100)); // the write-through lands

		await server.kill();
		ben.disconnect();
		dan.disconnect();
		const snapshotAfter = next(ann, 'presence:snapshot', () => true, 40_000);
		server = await startServer(port, dataDir);
		const after = new Map((await snapshotAfter).participants.map((p) => [p.identity, p.state]));
		assert.deepEqual(
			Object.fromEntries([...after].sort()),
			{ ann: 'online', ben: 'reconnecting', cat: 'left', dan: 'reconnecting' },
			'left stays left, the others show as reconnecting: nobody vanished',
		);

		// A direct message to ben, who is not back yet: accepted (he is a member of the room).
		const dm = await ok(ann, 'chat:send', { id: 'dm-restart-0001', text: 'see this when you are back', to: 'ben' });
		const stranger = await ok(ann, 'chat:send', { id: 'dm-restart-0002', text: 'x', to: 'nobody' }).catch((e: Error) => e);
		assert.ok(stranger instanceof Error && stranger.message.includes('not_found'), 'never joined: still refused');

		const benBack = join('ben', false);
		await next(ann, 'presence:update', (p) => p.identity === 'ben' && p.state === 'online', 15_000);
		const synced = await ok(benBack, 'chat:sync', { afterSeq: 0 });
		assert.deepEqual(synced.messages.map((m) => m.id), [dm.message.id], 'the direct message is delivered on return');

		await next(ann, 'presence:update', (p) => p.identity === 'dan' && p.state === 'left', 15_000);
		assert.equal(annView.get('cat'), 'left');
		assert.ok(annView.size >= 4, 'the list never emptied');
		t.diagnostic(`presence seen by ann: ${annSeen.join(' | ')}`);
	} finally {
		for (const s of sockets) s.disconnect();
		await server.kill();
		rmSync(dataDir, { recursive: true, force: true });
	}
});
