import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DtlsWatchdog, STUCK_MS, type WatchedTransport } from './DtlsWatchdog.ts';

function transport(id: string, ice: string, dtls: string): WatchedTransport & { connectionState: string; closed: boolean; ice: string; dtls: string } {
	const t = {
		id,
		closed: false,
		connectionState: 'connecting',
		ice,
		dtls,
		getStats: async () => {
			const entries = [{ type: 'transport', iceState: t.ice, dtlsState: t.dtls }, { type: 'candidate-pair' }];
			return { forEach: (fn: (e: Record<string, unknown>) => void) => entries.forEach(fn) } as unknown as RTCStatsReport;
		},
	};
	return t;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('ICE up and DTLS still connecting after STUCK_MS: reported; ICE still checking, or connected in time: not', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const stuck: string[] = [];
	const watchdog = new DtlsWatchdog({ onStuck: (tr) => stuck.push(tr.id) });
	const handshake = transport('send', 'connected', 'connecting');
	const checking = transport('recv', 'checking', 'new');
	const quick = transport('other', 'connected', 'connecting');
	for (const tr of [handshake, checking, quick]) watchdog.stateChanged(tr, 'connecting');
	t.mock.timers.tick(STUCK_MS - 1);
	quick.connectionState = 'connected';
	watchdog.stateChanged(quick, 'connected');
	await settle();
	assert.deepEqual(stuck, []);
	t.mock.timers.tick(1);
	await settle();
	assert.deepEqual(stuck, ['send'], 'only the transport whose ICE is up and DTLS is not');
});

test('reports back off until a transport connects; a closed transport is not reported', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const stuck: string[] = [];
	const watchdog = new DtlsWatchdog({ onStuck: (tr) => stuck.push(tr.id) });
	const first = transport('a', 'completed', 'connecting');
	watchdog.stateChanged(first, 'connecting');
	t.mock.timers.tick(STUCK_MS);
	await settle();
	assert.deepEqual(stuck, ['a']);
	// The session started over: its new transport gets twice as long.
	const second = transport('b', 'connected', 'connecting');
	watchdog.stateChanged(second, 'connecting');
	t.mock.timers.tick(STUCK_MS);
	await settle();
	assert.deepEqual(stuck, ['a'], 'backed off');
	t.mock.timers.tick(STUCK_MS);
	await settle();
	assert.deepEqual(stuck, ['a', 'b']);
	// Connected: the back-off starts over.
	watchdog.stateChanged(second, 'connected');
	const third = transport('c', 'connected', 'connecting');
	watchdog.stateChanged(third, 'connecting');
	third.closed = true;
	t.mock.timers.tick(STUCK_MS);
	await settle();
	assert.deepEqual(stuck, ['a', 'b'], 'closed: not reported');
	const fifth = transport('e', 'connected', 'connecting');
	watchdog.stateChanged(fifth, 'connecting');
	watchdog.reset();
	t.mock.timers.tick(STUCK_MS * 10);
	await settle();
	assert.deepEqual(stuck, ['a', 'b'], 'reset: nothing pending');
});
