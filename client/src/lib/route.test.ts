import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomNameSchema } from '../../../signaling/protocol/http.ts';
import { ROOM_NAME_PATTERN, randomRoomName } from './route.ts';

test('the client room-name rule matches the protocol schema', () => {
	const samples = ['a', 'A9', 'team-standup', 'x_y', '-bad', '_bad', '', 'a'.repeat(64), 'a'.repeat(65), 'sp ace', 'ünï', 'a/b', 'a.b'];
	for (let i = 0; i < 20; i++) samples.push(randomRoomName());
	for (const room of samples) {
		assert.equal(ROOM_NAME_PATTERN.test(room), RoomNameSchema.safeParse(room).success, room);
	}
});

test('random room names are valid', () => {
	for (let i = 0; i < 50; i++) assert.match(randomRoomName(), ROOM_NAME_PATTERN);
});
