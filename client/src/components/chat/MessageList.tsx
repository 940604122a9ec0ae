/**
 * The message history and the outbox, oldest first. Keeps to the bottom while the newest
 * messages are on screen, loads older pages when scrolled to the top (keeping the view
 * where it was), and reports what is seen (for read receipts and the unread count).
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { receiptView } from '../../chat/receipts.ts';
import { downloadUrl } from '../../chat/upload.ts';
import { ArrowDownIcon } from './icons.tsx';
import { MessageItem, type MessageItemProps } from './MessageItem.tsx';
import type { ChatController } from './useChat.ts';

const GROUP_MS = 5 * 60_000;
const NEAR_PX = 48;

export function MessageList({ ctl, active }: { ctl: ChatController; active: boolean }) {
	const { chat, res, people, others, markSeen, seenSeq } = ctl;
	const { identity, room, token } = res.session;
	const listRef = useRef<HTMLDivElement>(null);
	/** Whether the view is at (near) the bottom: new messages keep it there. */
	const stick = useRef(true);
	const [atBottom, setAtBottom] = useState(true);
	/** While an older page loads: the distance from the bottom to keep. */
	const anchor = useRef<number | null>(null);
	const [loadingOlder, setLoadingOlder] = useState(false);
	const [visible, setVisible] = useState(() => document.visibilityState === 'visible');

	useEffect(() => {
		const update = (): void => setVisible(document.visibilityState === 'visible');
		document.addEventListener('visibilitychange', update);
		return () => document.removeEventListener('visibilitychange', update);
	}, []);

	const names = useMemo(() => new Map(people.map((p) => [p.identity, p.name])), [people]);
	const retry = useCallback((id: string) => res.chat.retry(id), [res]);
	const discard = useCallback((id: string) => res.chat.discard(id), [res]);

	const items = useMemo((): MessageItemProps[] => {
		const out: MessageItemProps[] = [];
		let prev: { from: string; to: string | null; ts: number } | null = null;
		const header = (from: string, to: string | null, ts: number): boolean => {
			const show = !prev || prev.from !== from || prev.to !== to || ts - prev.ts > GROUP_MS;
			prev = { from, to, ts };
			return show;
		};
		for (const m of chat.messages) {
			const own = m.from === identity;
			const receipt = own ? receiptView(m, chat.receipts.get(m.seq), others) : null;
			out.push({
				id: m.id,
				seq: m.seq,
				from: m.from,
				fromName: m.fromName,
				to: m.to,
				toName: m.to ? (names.get(m.to) ?? m.to) : null,
				ts: m.ts,
				text: m.text,
				attachment: m.attachment,
				own,
				state: receipt?.state,
				receiptTitle: receipt?.title,
				showHeader: header(m.from, m.to, m.ts),
				downloadHref: m.attachment ? downloadUrl(room, m.attachment.fileId, token) : null,
			});
		}
		const stored = new Set(chat.messages.map((m) => m.id));
		for (const o of chat.outbox) {
			if (stored.has(o.id)) continue;
			out.push({
				id: o.id,
				seq: null,
				from: identity,
				fromName: names.get(identity) ?? '',
				to: o.to,
				toName: o.to ? (names.get(o.to) ?? o.to) : null,
				ts: o.queuedAt,
				text: o.text,
				attachment: o.attachment,
				own: true,
				state: o.state === 'failed' ? 'failed' : 'pending',
				receiptTitle: o.state === 'failed' ? 'not sent' : 'waiting for the server',
				error: o.error?.message,
				showHeader: header(identity, o.to, o.queuedAt),
				downloadHref: o.attachment ? downloadUrl(room, o.attachment.fileId, token) : null,
				onRetry: retry,
				onDiscard: discard,
			});
		}
		return out;
	}, [chat, identity, others, names, room, token, retry, discard]);

	const newestSeq = chat.messages.at(-1)?.seq ?? 0;
	const outboxSize = chat.outbox.length;
	const lastOutbox = useRef(outboxSize);

	const measure = useCallback((): boolean => {
		const el = listRef.current;
		if (!el) return false;
		return el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_PX;
	}, []);

	const scrollToBottom = useCallback(() => {
		const el = listRef.current;
		if (!el) return;
		el.scrollTop = el.scrollHeight;
		stick.current = true;
		setAtBottom(true);
	}, []);

	// After every change of the content: keep the view where it belongs.
	useLayoutEffect(() => {
		const el = listRef.current;
		if (!el) return;
		if (anchor.current !== null) {
			el.scrollTop = el.scrollHeight - anchor.current;
			return;
		}
		// One's own new message always scrolls into view.
		if (outboxSize > lastOutbox.current) stick.current = true;
		lastOutbox.current = outboxSize;
		if (stick.current) el.scrollTop = el.scrollHeight;
	}, [items, outboxSize]);

	// Opening the panel shows the newest messages.
	useLayoutEffect(() => {
		if (active) scrollToBottom();
	}, [active, scrollToBottom]);

	const loadOlder = useCallback(async () => {
		const el = listRef.current;
		if (!el || loadingOlder || !chat.hasMoreHistory) return;
		setLoadingOlder(true);
		anchor.current = el.scrollHeight - el.scrollTop;
		try {
			await res.chat.loadOlder();
		} finally {
			// Let the page render with the anchor first.
			requestAnimationFrame(() => {
				anchor.current = null;
				setLoadingOlder(false);
			});
		}
	}, [loadingOlder, chat.hasMoreHistory, res]);

	const onScroll = (): void => {
		const el = listRef.current;
		if (!el) return;
		const bottom = measure();
		stick.current = bottom;
		setAtBottom(bottom);
		if (el.scrollTop < NEAR_PX && chat.hasMoreHistory && !loadingOlder) void loadOlder();
	};

	// Read: the panel is open on the messages, the page is visible and the newest are on screen.
	useEffect(() => {
		if (active && visible && atBottom && newestSeq > 0) markSeen(newestSeq);
	}, [active, visible, atBottom, newestSeq, markSeen, ctl.connection]);

	// The panel may open with the list shorter than the view: that is "at the bottom" too.
	useEffect(() => {
		if (!active) return;
		const el = listRef.current;
		if (!el) return;
		const observer = new ResizeObserver(() => {
			if (stick.current) el.scrollTop = el.scrollHeight;
			setAtBottom(measure());
		});
		observer.observe(el);
		return () => observer.disconnect();
	}, [active, measure]);

	const unseenBelow = !atBottom && chat.messages.some((m) => m.seq > seenSeq && m.from !== identity);

	return (
		<div className="chat-list-wrap">
			<div className="chat-list" ref={listRef} onScroll={onScroll} data-testid="chat-list" role="log" aria-live="polite" aria-label="Messages">
				{chat.hasMoreHistory ? (
					<button
						type="button"
						className="chat-older"
						onClick={() => void loadOlder()}
						disabled={loadingOlder}
						data-testid="chat-load-older"
					>
						{loadingOlder ? 'Loading…' : 'Load older messages'}
					</button>
				) : (
					items.length > 0 && <div className="chat-start">Start of the conversation</div>
				)}
				{items.length === 0 && !chat.hasMoreHistory && (
					<div className="chat-empty">No messages yet. Say hello!</div>
				)}
				<ol className="chat-messages">
					{items.map((item) => (
						<MessageItem key={item.id} {...item} />
					))}
				</ol>
			</div>
			{unseenBelow && (
				<button type="button" className="chat-jump" onClick={scrollToBottom} data-testid="chat-jump">
					<ArrowDownIcon width={16} height={16} /> New messages
				</button>
			)}
		</div>
	);
}
