/**
 * The chat panel of the call page: messages (with the typing line and the composer) and
 * the participants with their presence, in two tabs. Beside the video on wide screens,
 * over it on narrow ones. Stays mounted while closed (draft, scroll position and upload
 * survive closing it); only an open panel on the messages tab counts messages as read.
 */
import { useEffect, useState } from 'react';
import { typingLine } from '../../chat/format.ts';
import { Composer } from './Composer.tsx';
import { ChatIcon, CloseIcon } from './icons.tsx';
import { MessageList } from './MessageList.tsx';
import { ParticipantsList } from './ParticipantsList.tsx';
import type { ChatController } from './useChat.ts';

/** Where focus goes when the panel closes from inside (Esc, the close button): the toggle that opened it. */
function focusToggle(): void {
	requestAnimationFrame(() => document.getElementById('chat-toggle')?.focus());
}

export function ChatPanel({ chat: ctl, showPeople = 0 }: { chat: ChatController | null; /** Bumped to open the people tab. */ showPeople?: number }) {
	const [tab, setTab] = useState<'messages' | 'people'>('messages');
	useEffect(() => {
		if (showPeople > 0) setTab('people');
	}, [showPeople]);
	const [to, setTo] = useState<string | null>(null);
	const [focusKey, setFocusKey] = useState(0);
	const isOpen = ctl?.open ?? false;
	// Opening the chat is usually to write: focus the composer (not on touch screens, where that opens the keyboard).
	useEffect(() => {
		if (isOpen && window.matchMedia('(pointer: fine)').matches) setFocusKey((k) => k + 1);
	}, [isOpen]);
	if (!ctl) return null;
	const { open, setOpen, people, chat } = ctl;
	const here = people.filter((p) => p.state !== 'left').length;
	const typingNames = [...chat.typing.values()];

	const directMessage = (identity: string): void => {
		setTo(identity);
		setTab('messages');
		setFocusKey((k) => k + 1);
	};

	return (
		<aside
			className="chat-panel"
			hidden={!open}
			data-testid="chat-panel"
			aria-label="Chat"
			onKeyDown={(e) => {
				if (e.key === 'Escape' && !e.defaultPrevented) {
					e.preventDefault();
					setOpen(false);
					focusToggle();
				}
			}}
		>
			<div className="chat-header">
				<div className="chat-tabs" role="tablist">
					<button
						type="button"
						role="tab"
						aria-selected={tab === 'messages'}
						className={`chat-tab${tab === 'messages' ? ' active' : ''}`}
						onClick={() => setTab('messages')}
						data-testid="chat-tab-messages"
					>
						Messages
					</button>
					<button
						type="button"
						role="tab"
						aria-selected={tab === 'people'}
						className={`chat-tab${tab === 'people' ? ' active' : ''}`}
						onClick={() => setTab('people')}
						data-testid="chat-tab-people"
					>
						People <span className="chat-tab-count">{here}</span>
					</button>
				</div>
				<button type="button" className="chat-icon-button" onClick={() => {
						setOpen(false);
						focusToggle();
					}} aria-label="Close the chat" title="Close" data-testid="chat-close">
					<CloseIcon />
				</button>
			</div>
			<div className="chat-body" hidden={tab !== 'messages'}>
				{chat.status !== 'online' && (
					<div className="chat-status" role="status" data-testid="chat-status" data-status={chat.status}>
						{chat.status === 'offline'
							? 'Chat is reconnecting… your messages will be sent.'
							: 'Messages can’t be saved right now; they will be sent when the server is back.'}
					</div>
				)}
				<MessageList ctl={ctl} active={open && tab === 'messages'} />
				<div className="chat-typing" data-testid="chat-typing" aria-live="polite">
					{typingNames.length > 0 && (
						<>
							<span className="typing-dots" aria-hidden="true">
								<span />
								<span />
								<span />
							</span>
							{typingLine(typingNames)}
						</>
					)}
				</div>
				<Composer ctl={ctl} to={to} onToChange={setTo} focusKey={focusKey} />
			</div>
			{tab === 'people' && (
				<ParticipantsList
					people={people}
					identity={ctl.res.session.identity}
					synced={ctl.presence.complete}
					onDirectMessage={directMessage}
				/>
			)}
		</aside>
	);
}

export function ChatToggle({ chat: ctl }: { chat: ChatController | null }) {
	if (!ctl) return null;
	const { open, setOpen, unread } = ctl;
	const label = open ? 'Close the chat' : unread > 0 ? `Open the chat (${unread} unread)` : 'Open the chat';
	return (
		<button
			type="button"
			id="chat-toggle"
			className={`control chat-toggle${open ? ' active' : ''}`}
			onClick={() => setOpen(!open)}
			aria-pressed={open}
			aria-label={label}
			title={label}
			data-testid="chat-toggle"
		>
			<ChatIcon />
			<span className="control-label">Chat</span>
			{!open && unread > 0 && (
				<span className="chat-badge" data-testid="chat-unread" aria-hidden="true">
					{unread > 99 ? '99+' : unread}
				</span>
			)}
		</button>
	);
}
