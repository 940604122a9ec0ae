import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import type { InviteCreateResponse, InviteListResponse, InviteRedeemResponse, LinkCheckResponse } from '../protocol/index.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { verifyToken } from '../auth/tokens.ts';
import { mintInvite } from '../auth/invites.ts';
import { InviteStore, MAX_INVITES_PER_ROOM } from '../auth/InviteStore.ts';

describe('links and invitations (production mode)', () => {
	let t: TestServer;
	before(async () => {
		t = await startTestServer();
	});
	after(() => t.close());

	const post = async <T>(path: string, body: unknown, token?: string): Promise<{ status: number; body: T }> => {
		const res = await fetch(`${t.url}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
			body: JSON.stringify(body),
		});
		return { status: res.status, body: (await res.json()) as T };
	};
	const check = async (body: unknown): Promise<LinkCheckResponse> => (await post<LinkCheckResponse>('/api/links/check', body)).body;

	it('says why a join token does not work: broken, expired, wrong signature; and accepts a good one', async () => {
		const good = await check({ token: t.token({ room: 'standup', name: 'Ann' }) });
		assert.deepEqual({ valid: good.valid, room: good.valid && good.room }, { valid: true, room: 'standup' });
		const broken = await check({ token: 'eyJhbGciOiJIUzI1NiJ9.garbage' });
		assert.equal(broken.valid, false);
		assert.equal(!broken.valid && broken.reason, 'malformed');
		const expired = jwt.sign({ sub: 'a', room: 'r', name: 'A', exp: Math.floor(Date.now() / 1000) - 60 }, t.config.auth.jwtSecrets[0]!, {
			audience: 'parley',
			issuer: 'parley',
		});
		const e = await check({ token: expired });
		assert.equal(!e.valid && e.reason, 'expired');
		const forged = jwt.sign({ sub: 'a', room: 'r', name: 'A' }, 'another-secret-0123456789abcdef0123456789', { audience: 'parley', issuer: 'parley', expiresIn: 60 });
		assert.equal((await check({ token: forged })).valid, false);
		assert.equal((await post('/api/links/check', { token: 1 })).status, 400);
	});

	it('hosts make, list and revoke invitations; participants cannot', async () => {
		const hostToken = t.token({ room: 'standup', name: 'Hana', identity: 'hana', role: 'host' });
		const plain = t.token({ room: 'standup', name: 'Pat', identity: 'pat' });
		assert.equal((await post('/api/invites', {}, plain)).status, 403);
		assert.equal((await post('/api/invites', {})).status, 401);

		const created = await post<InviteCreateResponse>('/api/invites', { ttlSeconds: 600 }, hostToken);
		assert.equal(created.status, 201);
		assert.equal(created.body.role, 'participant');
		assert.match(created.body.url, /\/r\/standup\?invite=/);
		// An invitation is not a join token.
		assert.equal((await check({ token: created.body.invite })).valid, false);
		const ok = await check({ invite: created.body.invite });
		assert.equal(ok.valid && ok.room, 'standup');

		const redeemed = await post<InviteRedeemResponse>('/api/invites/redeem', { invite: created.body.invite, name: 'Guest' });
		assert.equal(redeemed.status, 200);
		const claims = verifyToken(t.config.auth, redeemed.body.token);
		assert.equal(claims.room, 'standup');
		assert.equal(claims.name, 'Guest');
		assert.notEqual(claims.sub, 'hana');
		const again = await post<InviteRedeemResponse>('/api/invites/redeem', { invite: created.body.invite, name: 'Guest' });
		assert.notEqual(again.body.identity, redeemed.body.identity, 'each redemption is a new participant');
		// The token works for joining.
		const socket = await t.client(redeemed.body.token);
		socket.disconnect();

		const list = await fetch(`${t.url}/api/invites`, { headers: { authorization: `Bearer ${hostToken}` } });
		const listed = ((await list.json()) as InviteListResponse).invites;
		assert.deepEqual(listed.map((i) => i.id), [created.body.id]);
		// Another room's host cannot revoke it.
		const otherHost = t.token({ room: 'other', name: 'O', role: 'host' });
		const foreign = await fetch(`${t.url}/api/invites/${created.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${otherHost}` } });
		assert.equal(foreign.status, 404);
		const revoke = await fetch(`${t.url}/api/invites/${created.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${hostToken}` } });
		assert.equal(revoke.status, 200);
		const revoked = await check({ invite: created.body.invite });
		assert.equal(!revoked.valid && revoked.reason, 'revoked');
		assert.equal((await post('/api/invites/redeem', { invite: created.body.invite, name: 'Late' })).status, 401);
	});

	it('a host may invite another host; an expired invitation is told as expired', async () => {
		const hostToken = t.token({ room: 'standup', name: 'Ho', role: 'host' });
		const created = await post<InviteCreateResponse>('/api/invites', { role: 'host' }, hostToken);
		assert.equal(created.status, 201);
		const redeemed = await post<InviteRedeemResponse>('/api/invites/redeem', { invite: created.body.invite, name: 'Second host' });
		assert.equal(verifyToken(t.config.auth, redeemed.body.token).role, 'host');
		const old = mintInvite(t.config.auth, { room: 'standup', role: 'participant', ttlSeconds: -60 });
		const e = await check({ invite: old.invite });
		assert.equal(!e.valid && e.reason, 'expired');
	});

	it('an invitation lasts one day unless asked otherwise; a room has at most 50 open, a revoked one frees a place', async () => {
		const hostToken = t.token({ room: 'crowded', name: 'Host', role: 'host' });
		const first = await post<InviteCreateResponse>('/api/invites', {}, hostToken);
		assert.equal(first.status, 201);
		assert.ok(Math.abs(first.body.expiresAt - (Date.now() / 1000 + 86_400)) < 60, 'expires in one day');
		for (let i = 1; i < MAX_INVITES_PER_ROOM; i++) assert.equal((await post('/api/invites', {}, hostToken)).status, 201);
		assert.equal(MAX_INVITES_PER_ROOM, 50);
		const refused = await post<{ error: { code: string } }>('/api/invites', {}, hostToken);
		assert.equal(refused.status, 429);
		assert.equal(refused.body.error.code, 'rate_limited');
		await fetch(`${t.url}/api/invites/${first.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${hostToken}` } });
		assert.equal((await post('/api/invites', {}, hostToken)).status, 201, 'a revoked invitation frees a place');
	});
});

describe('redeeming invitations is rate limited per client address', () => {
	let t: TestServer;
	before(async () => {
		t = await startTestServer({ env: { PARLEY_LIMITS_IP_REQUESTS_BURST: '3', PARLEY_LIMITS_IP_REQUESTS_PER_SECOND: '1' } });
	});
	after(() => t.close());

	it('a client redeeming over and over (each redemption mints a join token) is refused with 429', async () => {
		const invite = mintInvite(t.config.auth, { room: 'standup', role: 'participant', ttlSeconds: 600 }).invite;
		const redeem = async (name: string) =>
			fetch(`${t.url}/api/invites/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite, name }) });
		for (const name of ['G', 'Gu', 'Gus']) assert.equal((await redeem(name)).status, 200);
		const refused = await redeem('Gust');
		assert.equal(refused.status, 429);
		assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'rate_limited');
	});
});

describe('the invitation store', () => {
	it('keeps invitations in <data.dir>/invites.json: a revoked one stays revoked after a restart', () => {
		const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-invites-'));
		try {
			const now = Date.now();
			const info = { id: 'inv-1', room: 'r', role: 'participant' as const, createdBy: 'Host', createdAt: now, expiresAt: Math.floor(now / 1000) + 600, revoked: false };
			const before = new InviteStore({ dataDir });
			before.add(info);
			before.add({ ...info, id: 'inv-2' });
			assert.equal(before.revoke('r', 'inv-1'), true);
			const after = new InviteStore({ dataDir });
			assert.deepEqual(after.list('r').map((i) => [i.id, i.revoked]).sort(), [['inv-1', true], ['inv-2', false]]);
			assert.equal(after.isRevoked('inv-1'), true);
		} finally {
			rmSync(dataDir, { recursive: true, force: true });
		}
	});
});
