/** MeetingClient against a scripted socket: join/leave notices and reactions that show for a while. */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { MeetingState } from '../../../signaling/protocol/index.ts';
import { MeetingClient } from './MeetingClient.ts';

/** Just enough of a Socket.IO client socket for listening. */
class FakeSocket {
	readonly #listeners = new Map<string, ((payload: unknown) => void)[]>();
	on(event: string, fn: (payload: unknown) => void): this {
		this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), fn]);
		return this;
	}
	fire(event: string, payload: unknown): void {
		for (const fn of this.#listeners.get(event) ?? []) fn(payload);
	}
}

const state = (...names: string[]): MeetingState => ({
	settings: { locked: false, waitingRoom: false, allowSelfUnmute: true },
	members: names.map((n) => ({ identity: n.toLowerCase(), name: n, role: 'participant' as const })),
	hands: [],
});

test('join and leave notices; a reaction shows on its tile for 4 s, a newer one restarts it', () => {
	mock.timers.enable({ apis: ['setTimeout'] });
	const socket = new FakeSocket();
	const meeting = new MeetingClient(socket as never, 'me');
	try {
		socket.fire('meeting:state', state('Me', 'Ann'));
		assert.deepEqual(meeting.getSnapshot().toasts, [], 'who is there on arrival is no news');
		socket.fire('meeting:state', state('Me', 'Ann', 'Bob'));
		socket.fire('meeting:state', state('Me', 'Bob'));
		assert.deepEqual(meeting.getSnapshot().toasts.map((t) => t.text), ['Bob joined.', 'Ann left.']);

		socket.fire('reaction', { identity: 'bob', emoji: '👍', at: 0 });
		assert.equal(meeting.getSnapshot().reactions.get('bob'), '👍');
		mock.timers.tick(3000);
		socket.fire('reaction', { identity: 'bob', emoji: '🎉', at: 0 });
		mock.timers.tick(1500);
		assert.equal(meeting.getSnapshot().reactions.get('bob'), '🎉', "the first one's timer does not clear the second");
		mock.timers.tick(2600);
		assert.equal(meeting.getSnapshot().reactions.has('bob'), false, 'gone after 4 s');
		mock.timers.tick(6000);
		assert.deepEqual(meeting.getSnapshot().toasts, [], 'notices go away by themselves');
	} finally {
		meeting.close();
		mock.timers.reset();
	}
});
