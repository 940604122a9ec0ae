import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from './errors.ts';
import { emitWithAck, request } from './request.ts';

/** A socket whose timed emitter answers with `answer` (or rejects like socket.io-client does on timeout). */
function fakeSocket(answer: () => Promise<unknown>) {
	const calls: { ms: number; event: string; payload: unknown }[] = [];
	return {
		calls,
		timeout(ms: number) {
			return {
				emitWithAck: (event: string, payload: unknown) => {
					calls.push({ ms, event, payload });
					return answer();
				},
			};
		},
	};
}

test('returns the answer and passes the timeout through', async () => {
	const socket = fakeSocket(async () => ({ ok: true, data: { readUpTo: 3 } }));
	assert.deepEqual(await emitWithAck(socket, 'chat:read', { upToSeq: 3 }, 1234), { ok: true, data: { readUpTo: 3 } });
	assert.deepEqual(socket.calls, [{ ms: 1234, event: 'chat:read', payload: { upToSeq: 3 } }]);
});

test('no answer in time is a timeout error answer, never a throw', async () => {
	const socket = fakeSocket(() => Promise.reject(new Error('operation has timed out')));
	const result = await emitWithAck(socket, 'chat:read', { upToSeq: 1 }, 10);
	assert.equal(result.ok, false);
	assert.equal(!result.ok && result.error.code, 'timeout');
	await assert.rejects(request(socket, 'chat:read', { upToSeq: 1 }, 10), (e: unknown) => e instanceof ProtocolError && e.code === 'timeout');
});

test('a malformed answer is internal; an error answer keeps its code', async () => {
	const malformed = await emitWithAck(fakeSocket(async () => 'hello'), 'chat:read', { upToSeq: 1 });
	assert.equal(!malformed.ok && malformed.error.code, 'internal');
	const refused = fakeSocket(async () => ({ ok: false, error: { code: 'forbidden', message: 'no' } }));
	await assert.rejects(request(refused, 'chat:read', { upToSeq: 1 }), (e: unknown) => e instanceof ProtocolError && e.code === 'forbidden');
});
