import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOM_NAME_PATTERN, randomRoomName, validateRoomName } from './route.ts';

test('room names: 1-64 letters, digits, - or _, starting with a letter or digit', () => {
	for (const room of ['a', 'A9', 'team-standup', 'x_y', 'a'.repeat(64)]) assert.equal(validateRoomName(room), null, room);
	for (const room of ['-bad', '_bad', '', 'a'.repeat(65), 'sp ace', 'ünï', 'a/b', 'a.b']) assert.notEqual(validateRoomName(room), null, room);
});

test('random room names are valid', () => {
	for (let i = 0; i < 50; i++) assert.match(randomRoomName(), ROOM_NAME_PATTERN);
});
