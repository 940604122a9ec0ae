/**
 * The behaviour every MessageStore must have, as node:test tests. Each implementation's
 * *.test.ts calls messageStoreContract() with a harness that creates isolated backing data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
	type AppendInput,
	type MessageStore,
	type MessageStoreOptions,
	type StoredMessage,
	MessageLimits,
	MessageValidationError,
} from '../signaling/chat/MessageStore.ts';

export interface ContractEnv {
	/**
	 * Open a store on this environment's data. May be called several times: every call is a
	 * new connection/handle on the same data (a reopen, or a second server process).
	 */
	open(options?: MessageStoreOptions): Promise<MessageStore>;
	/** Remove the data (stores opened by the test are closed before). */
	dispose(): Promise<void>;
}

export interface ContractHarness {
	name: string;
	/** Fresh, empty, isolated backing data. */
	createEnv(): Promise<ContractEnv>;
}

interface Ctx {
	env: ContractEnv;
	/** The first store, opened with a deterministic clock (1000, 2000, 3000, …). */
	store: MessageStore;
	/** Open another handle on the same data; closed automatically at the end. */
	open(options?: MessageStoreOptions): Promise<MessageStore>;
}

function steppingClock(start = 1000, step = 1000): () => number {
	let t = start - step;
	return () => (t += step);
}

const ROOM = 'room-1';

function msg(id: string, from: string, text: string, extra: Partial<AppendInput> = {}): AppendInput {
	return { id, room: ROOM, from, fromName: from.toUpperCase(), text, ...extra };
}

const seqsOf = (messages: StoredMessage[]): number[] => messages.map((m) => m.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function messageStoreContract(harness: ContractHarness): void {
	async function withStore(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
		const env = await harness.createEnv();
		const opened: MessageStore[] = [];
		const open = async (options?: MessageStoreOptions): Promise<MessageStore> => {
			const store = await env.open(options);
			opened.push(store);
			return store;
		};
		try {
			const store = await open({ now: steppingClock() });
			await fn({ env, store, open });
		} finally {
			for (const store of opened) await store.close();
			await env.dispose();
		}
	}

	describe(`MessageStore contract: ${harness.name}`, () => {
		test('assigns seqs 1, 2, 3… per room and returns messages in order with every field', () =>
			withStore(async ({ store }) => {
				assert.equal(await store.lastSeq(ROOM), 0);
				assert.deepEqual(await store.after(ROOM, 'alice', 0, 10), []);

				const attachment = { fileId: 'f-1', name: 'plan.pdf', size: 12345, mime: 'application/pdf' };
				const inputs: AppendInput[] = [
					msg('m1', 'alice', 'hello'),
					msg('m2', 'bob', 'hi alice', { to: null }),
					msg('m3', 'alice', '', { attachment }),
					msg('m4', 'carol', 'ünïcødé ✓ 🎉 "quotes" \\ \n newline'),
					msg('m5', 'bob', 'x'.repeat(MessageLimits.textMax)),
				];
				const results = [];
				for (const input of inputs) results.push(await store.append(input));

				assert.deepEqual(
					results.map((r) => r.duplicate),
					[false, false, false, false, false],
				);
				assert.deepEqual(
					results.map((r) => r.message.seq),
					[1, 2, 3, 4, 5],
				);
				const expected: StoredMessage[] = inputs.map((input, i) => ({
					id: input.id,
					room: ROOM,
					seq: i + 1,
					ts: 1000 * (i + 1),
					from: input.from,
					fromName: input.fromName,
					to: null,
					text: input.text,
					attachment: input.attachment ?? null,
				}));
				assert.deepEqual(
					results.map((r) => r.message),
					expected,
				);
				assert.equal(await store.lastSeq(ROOM), 5);

				// Read back: after() is ascending, exclusive of afterSeq, and honours the limit.
				assert.deepEqual(await store.after(ROOM, 'dave', 0, 100), expected);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'dave', 2, 2)), [3, 4]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'dave', 4, 100)), [5]);
				assert.deepEqual(await store.after(ROOM, 'dave', 5, 100), []);
				assert.deepEqual(await store.after(ROOM, 'dave', 0, 0), []);

				assert.deepEqual(await store.get(ROOM, 3), expected[2]);
				assert.equal(await store.get(ROOM, 6), null);
				assert.deepEqual(await store.getById(ROOM, 'carol', 'm4'), expected[3]);
				assert.equal(await store.getById(ROOM, 'bob', 'm4'), null, 'ids are per sender');
			}));

		test('a retry with the same id is a duplicate: original returned, nothing stored', () =>
			withStore(async ({ store }) => {
				const first = await store.append(msg('same', 'alice', 'original'));
				assert.equal(first.duplicate, false);

				const retry = await store.append(msg('same', 'alice', 'original'));
				assert.equal(retry.duplicate, true);
				assert.deepEqual(retry.message, first.message, 'the retry gets the stored message, timestamp included');

				const changed = await store.append(msg('same', 'alice', 'edited text', { to: 'bob', fromName: 'Other' }));
				assert.equal(changed.duplicate, true);
				assert.deepEqual(changed.message, first.message, 'a reused id with other content still yields the original');

				assert.equal(await store.lastSeq(ROOM), 1);
				assert.deepEqual(await store.after(ROOM, 'bob', 0, 10), [first.message]);

				// The same id from another sender is another message.
				const other = await store.append(msg('same', 'bob', 'mine'));
				assert.equal(other.duplicate, false);
				assert.equal(other.message.seq, 2);
				assert.equal(other.message.text, 'mine');
				assert.equal((await store.append(msg('same', 'bob', 'mine'))).message.seq, 2);
				assert.equal(await store.lastSeq(ROOM), 2);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'carol', 0, 10)), [1, 2]);
			}));

		test('200 concurrent appends (with racing retries, over two connections) get seqs 1..200, no gaps, no duplicates', () =>
			withStore(async ({ store, open }) => {
				const second = await open();
				const senders = ['alice', 'bob', 'carol', 'dave'];
				const inputs = range(1, 200).map((i) => {
					const from = senders[i % senders.length] ?? 'alice';
					return msg(`c-${i}`, from, `message ${i} from ${from}`);
				});
				// Every message is sent twice at the same time, once through each connection.
				const results = await Promise.all(
					inputs.flatMap((input, i) => [
						(i % 2 === 0 ? store : second).append(input),
						(i % 2 === 0 ? second : store).append(input),
					]),
				);
				const fresh = results.filter((r) => !r.duplicate);
				assert.equal(fresh.length, 200, 'exactly one of each pair is stored');
				assert.deepEqual(
					fresh.map((r) => r.message.seq).sort((a, b) => a - b),
					range(1, 200),
				);
				for (let i = 0; i < inputs.length; i++) {
					const a = results[2 * i];
					const b = results[2 * i + 1];
					assert.ok(a && b);
					assert.notEqual(a.duplicate, b.duplicate, `one of the two sends of ${inputs[i]?.id} is the duplicate`);
					assert.deepEqual(a.message, b.message);
					assert.equal(a.message.text, inputs[i]?.text);
				}
				assert.equal(await store.lastSeq(ROOM), 200);
				assert.equal(await second.lastSeq(ROOM), 200);
				const all = await second.after(ROOM, 'eve', 0, 500);
				assert.deepEqual(seqsOf(all), range(1, 200));
				const bySeq = new Map(fresh.map((r) => [r.message.seq, r.message]));
				for (const m of all) assert.deepEqual(m, bySeq.get(m.seq));
			}));

		test('direct messages are visible only to their sender and recipient', () =>
			withStore(async ({ store }) => {
				await store.append(msg('1', 'alice', 'room 1'));
				await store.append(msg('2', 'alice', 'secret for bob', { to: 'bob' }));
				await store.append(msg('3', 'bob', 'room 3'));
				await store.append(msg('4', 'bob', 'secret for alice', { to: 'alice' }));
				await store.append(msg('5', 'carol', 'room 5'));
				await store.append(msg('6', 'alice', 'secret for carol', { to: 'carol' }));
				await store.append(msg('7', 'alice', 'room 7'));

				assert.deepEqual(seqsOf(await store.after(ROOM, 'alice', 0, 100)), [1, 2, 3, 4, 5, 6, 7]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'bob', 0, 100)), [1, 2, 3, 4, 5, 7]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'carol', 0, 100)), [1, 3, 5, 6, 7]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'dave', 0, 100)), [1, 3, 5, 7]);

				const bobsView = await store.after(ROOM, 'bob', 0, 100);
				assert.equal(bobsView[1]?.to, 'bob');
				assert.equal(bobsView[3]?.to, 'alice');

				// The limit counts visible messages, not skipped ones.
				assert.deepEqual(seqsOf(await store.after(ROOM, 'dave', 0, 2)), [1, 3]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'dave', 1, 2)), [3, 5]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'carol', 3, 2)), [5, 6]);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'dave', null, 2)), [5, 7]);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'dave', 5, 10)), [1, 3]);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'bob', 7, 3)), [3, 4, 5]);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'carol', null, 3)), [5, 6, 7]);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'alice', null, 100)), [1, 2, 3, 4, 5, 6, 7]);

				for (const viewer of ['carol', 'dave']) {
					const seen = [...(await store.after(ROOM, viewer, 0, 100)), ...(await store.before(ROOM, viewer, null, 100))];
					assert.ok(!seen.some((m) => m.text.includes('for bob') || m.text.includes('for alice')), `${viewer} saw a DM`);
				}
			}));

		test('before() pages history backwards, newest first page, each page ascending', () =>
			withStore(async ({ store }) => {
				for (let i = 1; i <= 25; i++) await store.append(msg(`p${i}`, i % 2 ? 'alice' : 'bob', `text ${i}`));

				const page1 = await store.before(ROOM, 'carol', null, 10);
				assert.deepEqual(seqsOf(page1), range(16, 25));
				assert.deepEqual(
					page1.map((m) => m.text),
					range(16, 25).map((i) => `text ${i}`),
				);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'carol', 16, 10)), range(6, 15));
				assert.deepEqual(seqsOf(await store.before(ROOM, 'carol', 6, 10)), range(1, 5));
				assert.deepEqual(await store.before(ROOM, 'carol', 1, 10), []);
				assert.deepEqual(seqsOf(await store.before(ROOM, 'carol', 1000, 3)), [23, 24, 25]);
				assert.deepEqual(await store.before(ROOM, 'carol', null, 0), []);
				assert.deepEqual(await store.before('empty-room', 'carol', null, 10), []);
			}));

		test('receipts: delivered and read sets, read implies delivered, sender excluded, idempotent', () =>
			withStore(async ({ store }) => {
				await store.append(msg('1', 'alice', 'room message from alice')); // seq 1
				await store.append(msg('2', 'bob', 'room message from bob')); // seq 2
				await store.append(msg('3', 'alice', 'dm alice→bob', { to: 'bob' })); // seq 3
				await store.append(msg('4', 'alice', 'another from alice')); // seq 4

				const none = (seq: number) => ({ seq, deliveredTo: [], readBy: [] });
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3, 4]), [none(1), none(2), none(3), none(4)]);

				assert.equal(await store.markDelivered(ROOM, 1, 'bob'), true);
				assert.equal(await store.markDelivered(ROOM, 1, 'bob'), false, 'second delivery is a no-op');
				assert.equal(await store.markDelivered(ROOM, 1, 'alice'), false, 'the sender is never a recipient');
				assert.equal(await store.markDelivered(ROOM, 3, 'carol'), false, 'carol cannot receive a DM to bob');
				assert.equal(await store.markDelivered(ROOM, 99, 'bob'), false, 'no such message');

				assert.deepEqual(await store.receipts(ROOM, [4, 99, 1, 3, 2, 1]), [
					{ seq: 1, deliveredTo: ['bob'], readBy: [] },
					none(2),
					none(3),
					none(4),
				]);

				// Carol reads up to 3: messages 1 and 2 (3 is a DM she cannot see).
				assert.deepEqual(await store.markRead(ROOM, 3, 'carol'), { readUpTo: 3, advanced: true });
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3, 4]), [
					{ seq: 1, deliveredTo: ['bob', 'carol'], readBy: ['carol'] },
					{ seq: 2, deliveredTo: ['carol'], readBy: ['carol'] },
					none(3),
					none(4),
				]);
				assert.deepEqual(await store.markRead(ROOM, 3, 'carol'), { readUpTo: 3, advanced: false }, 'idempotent');
				assert.deepEqual(await store.markRead(ROOM, 2, 'carol'), { readUpTo: 3, advanced: false }, 'never backwards');
				assert.equal(await store.markDelivered(ROOM, 2, 'carol'), false, 'already read, so already delivered');

				// Bob reads beyond the end: clamped to the last seq (4), so later messages stay unread.
				assert.deepEqual(await store.markRead(ROOM, 100, 'bob'), { readUpTo: 4, advanced: true });
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3, 4]), [
					{ seq: 1, deliveredTo: ['bob', 'carol'], readBy: ['bob', 'carol'] },
					{ seq: 2, deliveredTo: ['carol'], readBy: ['carol'] },
					{ seq: 3, deliveredTo: ['bob'], readBy: ['bob'] },
					{ seq: 4, deliveredTo: ['bob'], readBy: ['bob'] },
				]);

				// Alice reads everything: she only shows up on bob's message.
				assert.deepEqual(await store.markRead(ROOM, 4, 'alice'), { readUpTo: 4, advanced: true });
				assert.equal(await store.markDelivered(ROOM, 4, 'carol'), true);
				assert.deepEqual(await store.receipts(ROOM, [2, 4]), [
					{ seq: 2, deliveredTo: ['alice', 'carol'], readBy: ['alice', 'carol'] },
					{ seq: 4, deliveredTo: ['bob', 'carol'], readBy: ['bob'] },
				]);
				await store.markRead(ROOM, 4, 'carol');
				assert.deepEqual(await store.receipts(ROOM, [4]), [{ seq: 4, deliveredTo: ['bob', 'carol'], readBy: ['bob', 'carol'] }]);

				const five = await store.append(msg('5', 'carol', 'after the reads'));
				assert.equal(five.message.seq, 5);
				assert.deepEqual(await store.receipts(ROOM, [5]), [none(5)], 'the clamped watermark does not cover new messages');
				assert.equal(await store.readUpTo(ROOM, 'bob'), 4);
				assert.equal(await store.readUpTo(ROOM, 'carol'), 4);
				assert.equal(await store.readUpTo(ROOM, 'dave'), 0);
				assert.deepEqual(await store.markRead(ROOM, 0, 'dave'), { readUpTo: 0, advanced: false });
				assert.deepEqual(await store.receipts(ROOM, []), []);
			}));

		test('markDeliveredMany: one call, the same rules as markDelivered, returns what it recorded with the senders', () =>
			withStore(async ({ store }) => {
				await store.append(msg('1', 'alice', 'one')); // 1
				await store.append(msg('2', 'bob', 'two')); // 2
				await store.append(msg('3', 'alice', 'dm to bob', { to: 'bob' })); // 3
				await store.append(msg('4', 'bob', 'dm to alice', { to: 'alice' })); // 4
				await store.append(msg('5', 'alice', 'five')); // 5
				await store.markRead(ROOM, 1, 'carol');
				assert.deepEqual(await store.markDeliveredMany(ROOM, [5, 1, 2, 3, 4, 99, 2], 'carol'), [
					{ seq: 2, from: 'bob' },
					{ seq: 5, from: 'alice' },
				], 'not read ones, visible ones, existing ones, each once');
				assert.deepEqual(await store.markDeliveredMany(ROOM, [1, 2, 3, 4, 5], 'bob'), [
					{ seq: 1, from: 'alice' },
					{ seq: 3, from: 'alice' },
					{ seq: 5, from: 'alice' },
				], 'never their own, their DMs included');
				assert.deepEqual(await store.markDeliveredMany(ROOM, [1, 2, 3, 5], 'bob'), [], 'idempotent');
				assert.deepEqual(await store.markDeliveredMany(ROOM, [], 'bob'), []);
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3, 4, 5]), [
					{ seq: 1, deliveredTo: ['bob', 'carol'], readBy: ['carol'] },
					{ seq: 2, deliveredTo: ['carol'], readBy: [] },
					{ seq: 3, deliveredTo: ['bob'], readBy: [] },
					{ seq: 4, deliveredTo: [], readBy: [] },
					{ seq: 5, deliveredTo: ['bob', 'carol'], readBy: [] },
				]);
				assert.deepEqual(
					(await store.receipts(ROOM, [1, 2, 3, 4, 5], 'bob')).map((r) => r.seq),
					[2, 4],
					'receipts of one sender only',
				);
				await assert.rejects(store.markDeliveredMany(ROOM, range(1, MessageLimits.receiptsMax + 1), 'bob'), MessageValidationError);
			}));

		test('markDeliveredUpTo: a delivered watermark, clamped, never backwards, in receipts for visible messages only', () =>
			withStore(async ({ store, open }) => {
				await store.append(msg('1', 'alice', 'one')); // 1
				await store.append(msg('2', 'alice', 'dm to carol', { to: 'carol' })); // 2
				await store.append(msg('3', 'bob', 'three')); // 3
				assert.deepEqual(await store.markDeliveredUpTo(ROOM, 99, 'bob'), { deliveredUpTo: 3, advanced: true });
				assert.deepEqual(await store.markDeliveredUpTo(ROOM, 1, 'bob'), { deliveredUpTo: 3, advanced: false });
				assert.deepEqual(await store.markDeliveredUpTo(ROOM, 0, 'dave'), { deliveredUpTo: 0, advanced: false });
				await store.markRead(ROOM, 1, 'carol');
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3]), [
					{ seq: 1, deliveredTo: ['bob', 'carol'], readBy: ['carol'] },
					{ seq: 2, deliveredTo: [], readBy: [] }, // bob cannot see the DM to carol
					{ seq: 3, deliveredTo: [], readBy: [] }, // his own
				]);
				assert.deepEqual(await store.deliveredWatermarks(ROOM), { bob: 3 });
				await store.close();
				const reopened = await open();
				assert.deepEqual(await reopened.deliveredWatermarks(ROOM), { bob: 3 });
				await reopened.deleteRoom(ROOM);
				assert.deepEqual(await reopened.deliveredWatermarks(ROOM), {});
			}));

		test('readWatermarks: everyone who read something, clamped like markRead', () =>
			withStore(async ({ store }) => {
				assert.deepEqual(await store.readWatermarks(ROOM), {});
				await store.append(msg('1', 'alice', 'one'));
				await store.append(msg('2', 'alice', 'two'));
				await store.markRead(ROOM, 1, 'bob');
				await store.markRead(ROOM, 50, 'carol');
				assert.deepEqual(await store.readWatermarks(ROOM), { bob: 1, carol: 2 });
				assert.deepEqual(await store.readWatermarks('other-room'), {});
			}));

		test('presence records: upsert per room and identity, survive a reopen, make members', () =>
			withStore(async ({ store, open }) => {
				assert.deepEqual(await store.loadPresence(ROOM), []);
				assert.equal(await store.isMember(ROOM, 'alice'), false);
				await store.savePresence(ROOM, { identity: 'alice', name: 'Alice', state: 'online', lastSeen: 1000 });
				await store.savePresence(ROOM, { identity: 'bob', name: 'Bob', state: 'online', lastSeen: 1000 });
				await store.savePresence(ROOM, { identity: 'bob', name: 'Bobby', state: 'left', lastSeen: 2000 });
				await store.savePresence('other-room', { identity: 'carol', name: 'C', state: 'away', lastSeen: 3000 });
				const sorted = async (s: MessageStore) => (await s.loadPresence(ROOM)).sort((a, b) => a.identity.localeCompare(b.identity));
				const expected = [
					{ identity: 'alice', name: 'Alice', state: 'online', lastSeen: 1000 },
					{ identity: 'bob', name: 'Bobby', state: 'left', lastSeen: 2000 },
				];
				assert.deepEqual(await sorted(store), expected);
				assert.equal(await store.isMember(ROOM, 'bob'), true, 'left, still a member');
				assert.equal(await store.isMember(ROOM, 'carol'), false, 'a member of another room only');
				await store.close();
				assert.deepEqual(await sorted(await open()), expected);
			}));

		test('rooms are isolated, even with the same message ids and senders', () =>
			withStore(async ({ store }) => {
				const a = 'team';
				const b = 'team-1';
				const inA = await store.append({ id: 'x', room: a, from: 'alice', fromName: 'A', text: 'in A' });
				const inB = await store.append({ id: 'x', room: b, from: 'alice', fromName: 'A', text: 'in B' });
				assert.equal(inA.duplicate, false);
				assert.equal(inB.duplicate, false, 'the same id in another room is a new message');
				assert.equal(inA.message.seq, 1);
				assert.equal(inB.message.seq, 1);
				await store.append({ id: 'y', room: a, from: 'bob', fromName: 'B', text: 'dm in A', to: 'carol' });

				assert.deepEqual(
					(await store.after(b, 'carol', 0, 100)).map((m) => [m.room, m.text]),
					[[b, 'in B']],
				);
				assert.deepEqual(
					(await store.before(b, 'carol', null, 100)).map((m) => m.text),
					['in B'],
				);
				assert.deepEqual(
					(await store.after(a, 'carol', 0, 100)).map((m) => m.text),
					['in A', 'dm in A'],
				);
				assert.equal(await store.lastSeq(a), 2);
				assert.equal(await store.lastSeq(b), 1);
				assert.equal((await store.get(b, 1))?.text, 'in B');
				assert.equal(await store.get(b, 2), null);
				assert.equal((await store.getById(b, 'alice', 'x'))?.text, 'in B');

				await store.markRead(a, 2, 'carol');
				await store.markDelivered(a, 1, 'bob');
				assert.deepEqual(await store.receipts(b, [1]), [{ seq: 1, deliveredTo: [], readBy: [] }]);
				assert.equal(await store.readUpTo(b, 'carol'), 0);
				assert.equal(await store.markDelivered(b, 2, 'carol'), false, 'seq 2 exists only in A');

				await store.deleteRoom(a);
				assert.deepEqual(
					(await store.after(b, 'carol', 0, 100)).map((m) => m.text),
					['in B'],
				);
			}));

		test('everything survives closing and reopening the store', () =>
			withStore(async ({ store, open }) => {
				const m1 = await store.append(msg('k1', 'alice', 'persist me'));
				const m2 = await store.append(msg('k2', 'bob', 'private', { to: 'alice' }));
				await store.markDelivered(ROOM, 1, 'carol');
				await store.markRead(ROOM, 2, 'alice');
				await store.close();

				const reopened = await open({ now: () => 99_000 });
				assert.equal(await reopened.lastSeq(ROOM), 2);
				assert.deepEqual(await reopened.after(ROOM, 'alice', 0, 10), [m1.message, m2.message]);
				assert.deepEqual(await reopened.after(ROOM, 'carol', 0, 10), [m1.message]);
				assert.deepEqual(await reopened.receipts(ROOM, [1, 2]), [
					{ seq: 1, deliveredTo: ['carol'], readBy: [] },
					{ seq: 2, deliveredTo: ['alice'], readBy: ['alice'] },
				]);
				assert.equal(await reopened.readUpTo(ROOM, 'alice'), 2);

				const retry = await reopened.append(msg('k1', 'alice', 'persist me'));
				assert.equal(retry.duplicate, true, 'idempotency keys persist');
				assert.deepEqual(retry.message, m1.message);
				const next = await reopened.append(msg('k3', 'alice', 'after reopen'));
				assert.equal(next.message.seq, 3);
				assert.equal(next.message.ts, 99_000);
			}));

		test('epoch: one id per store data, the same on every handle, across reopen, in append answers; health reports it', () =>
			withStore(async ({ store, open }) => {
				const epoch = await store.epoch();
				assert.match(epoch, /^[A-Za-z0-9_-]{8,64}$/);
				const first = await store.append(msg('e1', 'alice', 'one'));
				assert.equal(first.epoch, epoch);
				assert.equal((await store.append(msg('e1', 'alice', 'one'))).epoch, epoch, 'duplicates carry it too');
				const health = await store.health();
				assert.equal(health.ok, true);
				assert.equal(health.epoch, epoch);
				assert.ok(health.latencyMs >= 0 && health.latencyMs < 1000);
				const other = await open();
				assert.equal(await other.epoch(), epoch, 'a second handle on the same data');
				await store.close();
				assert.equal((await store.health()).ok, false, 'a closed store is not healthy');
				const reopened = await open();
				assert.equal(await reopened.epoch(), epoch, 'survives a reopen');
			}));

		test('deleteRoom forgets messages, receipts and ids but never reuses seqs', () =>
			withStore(async ({ store }) => {
				await store.append(msg('d1', 'alice', 'one'));
				await store.append(msg('d2', 'alice', 'dm', { to: 'bob' }));
				await store.append(msg('d3', 'bob', 'three'));
				await store.markDelivered(ROOM, 1, 'bob');
				await store.markRead(ROOM, 3, 'carol');
				await store.append({ id: 'd1', room: 'other', from: 'alice', fromName: 'A', text: 'keep me' });

				await store.deleteRoom(ROOM);
				assert.deepEqual(await store.after(ROOM, 'alice', 0, 100), []);
				assert.deepEqual(await store.after(ROOM, 'bob', 0, 100), [], 'direct messages are gone too');
				assert.deepEqual(await store.before(ROOM, 'bob', null, 100), []);
				assert.equal(await store.get(ROOM, 1), null);
				assert.equal(await store.getById(ROOM, 'alice', 'd1'), null);
				assert.deepEqual(await store.receipts(ROOM, [1, 2, 3]), []);
				assert.equal(await store.readUpTo(ROOM, 'carol'), 0);
				assert.equal(await store.lastSeq(ROOM), 3, 'the counter survives');

				const again = await store.append(msg('d1', 'alice', 'new life'));
				assert.equal(again.duplicate, false, 'old ids are forgotten');
				assert.equal(again.message.seq, 4, 'seqs continue after the old ones');
				assert.equal(again.message.text, 'new life');
				assert.deepEqual(await store.receipts(ROOM, [4]), [{ seq: 4, deliveredTo: [], readBy: [] }]);
				assert.deepEqual(seqsOf(await store.after(ROOM, 'bob', 0, 100)), [4]);

				assert.deepEqual(
					(await store.after('other', 'bob', 0, 100)).map((m) => m.text),
					['keep me'],
				);
				await store.deleteRoom('never-used');
				assert.equal(await store.lastSeq('never-used'), 0);
			}));

		test('rejects invalid input without storing anything', () =>
			withStore(async ({ store }) => {
				const bad: AppendInput[] = [
					{ ...msg('ok', 'alice', 'x'), room: 'bad room!' },
					{ ...msg('ok', 'alice', 'x'), room: 'r'.repeat(65) },
					{ ...msg('ok', 'alice', 'x'), room: '' },
					msg('i'.repeat(MessageLimits.idMax + 1), 'alice', 'x'),
					msg('', 'alice', 'x'),
					msg('ok', 'alice', 'x'.repeat(MessageLimits.textMax + 1)),
					msg('ok', 'alice', ''),
					msg('ok', '', 'x'),
					msg('ok', 'alice', 'x', { attachment: { fileId: 'f', name: 'n', size: -1, mime: 'a/b' } }),
				];
				for (const input of bad) {
					const pending = store.append(input); // must reject, not throw synchronously
					await assert.rejects(pending, MessageValidationError, JSON.stringify(input).slice(0, 80));
				}
				assert.equal(await store.lastSeq(ROOM), 0);
				await assert.rejects(store.after('bad room', 'alice', 0, 10), MessageValidationError);
				await assert.rejects(store.after(ROOM, 'alice', -1, 10), MessageValidationError);
				await assert.rejects(store.after(ROOM, 'alice', 1.5, 10), MessageValidationError);
				await assert.rejects(store.before(ROOM, 'alice', 0, 10), MessageValidationError);
				await assert.rejects(store.receipts(ROOM, [0]), MessageValidationError);
				await assert.rejects(store.markRead(ROOM, -1, 'alice'), MessageValidationError);
				// Exactly at the limits is fine.
				const max = await store.append(msg('i'.repeat(MessageLimits.idMax), 'alice', 'x'.repeat(MessageLimits.textMax)));
				assert.equal(max.message.seq, 1);
			}));

		test('page sizes are clamped to MessageLimits.pageMax', () =>
			withStore(async ({ store }) => {
				const total = MessageLimits.pageMax + 5;
				await Promise.all(range(1, total).map((i) => store.append(msg(`L${i}`, 'alice', `t${i}`))));
				assert.deepEqual(seqsOf(await store.after(ROOM, 'bob', 0, 10_000)), range(1, MessageLimits.pageMax));
				assert.deepEqual(seqsOf(await store.before(ROOM, 'bob', null, 10_000)), range(6, total));
			}));
	});
}
