/**
 * The chat of one call session, for the call page: one ChatClient and one PresenceStore
 * per RoomClient (on the RoomClient's socket), created on first use and closed with the
 * session; the panel's open state, the unread count, and this participant's away state
 * (page hidden, or no input for two minutes).
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { Presence } from '../../../../signaling/protocol/index.ts';
import { ChatClient, type ChatSnapshot } from '../../chat/ChatClient.ts';
import { PresenceStore, type PresenceSnapshot } from '../../chat/PresenceStore.ts';
import type { ChatSession, RoomClient, RoomSnapshot } from '../../media/RoomClient.ts';

const IDLE_AFTER_MS = 2 * 60_000;

export interface ChatResources {
	session: ChatSession;
	chat: ChatClient;
	presence: PresenceStore;
	subscribeChat: (listener: () => void) => () => void;
	chatSnapshot: () => ChatSnapshot;
}

const resources = new WeakMap<RoomClient, ChatResources | null>();

/**
 * The chat of a session, created once (also under StrictMode's double renders) and as early
 * as the call page renders, so that the socket's first presence snapshot is not missed.
 */
export function chatResourcesFor(client: RoomClient): ChatResources | null {
	if (resources.has(client)) return resources.get(client) ?? null;
	let created: ChatResources | null = null;
	try {
		const session = client.chatSession;
		if (!session.identity) throw new Error('chat: the join token has no subject');
		const chat = new ChatClient({ socket: session.socket, identity: session.identity });
		const presence = new PresenceStore(session.socket);
		created = {
			session,
			chat,
			presence,
			subscribeChat: (listener) => chat.subscribe(listener),
			chatSnapshot: () => chat.snapshot(),
		};
		const closeAll = (): void => {
			if (client.getSnapshot().status !== 'closed') return;
			unsubscribe();
			chat.close();
			presence.close();
		};
		const unsubscribe = client.subscribe(closeAll);
		closeAll();
	} catch (error) {
		console.error('[parley] chat unavailable', error);
	}
	resources.set(client, created);
	return created;
}

export interface ChatController {
	client: RoomClient;
	res: ChatResources;
	chat: ChatSnapshot;
	presence: PresenceSnapshot;
	/** Everyone known (self included), presence merged with the call's participants. */
	people: Presence[];
	/** Identities a room message is for now (everyone else not gone). */
	others: string[];
	open: boolean;
	setOpen: (open: boolean) => void;
	unread: number;
	/** The newest message seq seen on screen (for the unread count). */
	seenSeq: number;
	/** Messages up to `seq` are on screen: count them read, and tell the senders. */
	markSeen: (seq: number) => void;
	/** Counts (re)connections of the socket. */
	connection: number;
}

const STATE_ORDER: Record<Presence['state'], number> = { online: 0, away: 1, reconnecting: 2, left: 3 };

const noSubscribe = (): (() => void) => () => {};
const noChat = (): null => null;

export function useChat(client: RoomClient): ChatController | null {
	const res = chatResourcesFor(client);
	const chat = useSyncExternalStore(res?.subscribeChat ?? noSubscribe, res?.chatSnapshot ?? noChat);
	const presence = useSyncExternalStore(res?.presence.subscribe ?? noSubscribe, res?.presence.snapshot ?? noChat);
	const room = useSyncExternalStore(client.subscribe, client.getSnapshot);
	const [open, setOpen] = useState(false);
	const seenKey = res ? `parley.chat.seen.${res.session.room}.${res.session.identity}` : null;
	const [seenSeq, setSeenSeq] = useState(() => (seenKey ? readNumber(seenKey) : 0));

	const markSeen = useCallback(
		(seq: number) => {
			if (!res || !seenKey) return;
			setSeenSeq((old) => {
				if (seq <= old) return old;
				writeNumber(seenKey, seq);
				return seq;
			});
			if (seq > (lastRead.get(res) ?? 0) && res.session.socket.connected) {
				lastRead.set(res, seq);
				void res.chat.markRead(seq);
			}
		},
		[res, seenKey],
	);

	// Read receipts sent just before a disconnect may be lost with it: send them again after.
	const [connection, setConnection] = useState(0);
	useEffect(() => {
		if (!res) return;
		const onConnect = (): void => {
			lastRead.delete(res);
			setConnection((n) => n + 1);
		};
		res.session.socket.on('connect', onConnect);
		return () => {
			res.session.socket.off('connect', onConnect);
		};
	}, [res]);

	// The message store restarted from empty (seqs start again at 1): what was seen and read is void.
	const epoch = chat?.epoch;
	const lastEpoch = useRef(epoch);
	useEffect(() => {
		if (!res || !seenKey || epoch === undefined) return;
		if (lastEpoch.current !== undefined && lastEpoch.current !== epoch) {
			lastRead.delete(res);
			writeNumber(seenKey, 0);
			setSeenSeq(0);
		}
		lastEpoch.current = epoch;
	}, [res, seenKey, epoch]);

	useAwayTracking(res?.presence ?? null);

	const identity = res?.session.identity ?? '';
	const people = useMemo(
		() => (presence ? mergePeople(presence, room, identity, client.name) : []),
		[presence, room, identity, client.name],
	);
	const others = useMemo(
		() => people.filter((p) => p.identity !== identity && p.state !== 'left').map((p) => p.identity),
		[people, identity],
	);
	const messages = chat?.messages;
	const unread = useMemo(
		() => (messages ?? []).reduce((n, m) => (m.seq > seenSeq && m.from !== identity ? n + 1 : n), 0),
		[messages, seenSeq, identity],
	);

	if (!res || !chat || !presence) return null;
	return { client, res, chat, presence, people, others, open, setOpen, unread, seenSeq, markSeen, connection };
}

/** The highest seq each session has sent chat:read for (forgotten on reconnect). */
const lastRead = new WeakMap<ChatResources, number>();

/** Away while the page is hidden or after two minutes without input; online again on return. */
function useAwayTracking(store: PresenceStore | null): void {
	useEffect(() => {
		if (!store) return;
		let lastInput = Date.now();
		const update = (): void => {
			const hidden = document.visibilityState === 'hidden';
			const idle = Date.now() - lastInput >= IDLE_AFTER_MS;
			store.setOwnState(hidden || idle ? 'away' : 'online');
		};
		const onInput = (): void => {
			const wasIdle = Date.now() - lastInput >= IDLE_AFTER_MS;
			lastInput = Date.now();
			if (wasIdle) update();
		};
		const events = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focus'] as const;
		for (const e of events) window.addEventListener(e, onInput, { passive: true, capture: true });
		document.addEventListener('visibilitychange', update);
		const timer = setInterval(update, 5000);
		update();
		return () => {
			for (const e of events) window.removeEventListener(e, onInput, { capture: true });
			document.removeEventListener('visibilitychange', update);
			clearInterval(timer);
		};
	}, [store]);
}

function mergePeople(presence: PresenceSnapshot, room: RoomSnapshot, identity: string, name: string): Presence[] {
	const byId = new Map(presence.participants);
	const now = Date.now();
	// Until the server's presence arrives (or if it was missed), the call's participants are here.
	for (const p of room.participants) {
		if (!byId.has(p.id)) byId.set(p.id, { identity: p.id, name: p.name, state: 'online', lastSeen: now });
	}
	const self = byId.get(identity);
	byId.set(identity, {
		identity,
		name: self?.name ?? room.self?.name ?? name,
		// Shown as this page knows it: the server echoes it a moment later.
		state: room.status === 'reconnecting' ? 'reconnecting' : presence.own,
		lastSeen: self?.lastSeen ?? now,
	});
	return [...byId.values()].sort(
		(a, b) =>
			Number(b.identity === identity) - Number(a.identity === identity) ||
			STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
			a.name.localeCompare(b.name),
	);
}

function readNumber(key: string): number {
	try {
		const n = Number(window.localStorage.getItem(key));
		return Number.isSafeInteger(n) && n > 0 ? n : 0;
	} catch {
		return 0;
	}
}

function writeNumber(key: string, value: number): void {
	try {
		window.localStorage.setItem(key, String(value));
	} catch {
		// Only the unread count after a reload depends on it.
	}
}
