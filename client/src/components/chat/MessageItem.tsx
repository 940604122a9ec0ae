/** One message: sender and time, the text with safe links, an attachment, and for one's own messages the receipt ticks. */
import { memo } from 'react';
import type { ChatAttachment } from '../../../../signaling/protocol/index.ts';
import { formatDateTime, formatSize, formatTime } from '../../chat/format.ts';
import { linkify } from '../../chat/linkify.ts';
import type { OwnMessageState } from '../../chat/receipts.ts';
import { AlertIcon, CheckIcon, ClockIcon, DoubleCheckIcon, FileIcon } from './icons.tsx';

export interface MessageItemProps {
	id: string;
	/** null while in the outbox. */
	seq: number | null;
	from: string;
	fromName: string;
	/** Direct message: the recipient's identity and name. */
	to: string | null;
	toName: string | null;
	ts: number;
	text: string;
	attachment: ChatAttachment | null;
	own: boolean;
	/** One's own messages only. */
	state?: OwnMessageState | undefined;
	receiptTitle?: string | undefined;
	error?: string | undefined;
	/** First of a run of messages from the same sender: show who and when. */
	showHeader: boolean;
	downloadHref: string | null;
	onRetry?: ((id: string) => void) | undefined;
	onDiscard?: ((id: string) => void) | undefined;
}

export const MessageItem = memo(function MessageItem(props: MessageItemProps) {
	const { id, seq, from, fromName, to, toName, ts, text, attachment, own, state, showHeader } = props;
	const direct = to !== null;
	const classes = ['chat-msg', own ? 'own' : 'theirs', direct ? 'direct' : '', showHeader ? 'first' : '', state === 'failed' ? 'failed' : '']
		.filter(Boolean)
		.join(' ');
	return (
		<li
			className={classes}
			data-testid="chat-message"
			data-id={id}
			data-from={from}
			{...(seq !== null ? { 'data-seq': seq } : {})}
			{...(state ? { 'data-state': state } : {})}
			{...(direct ? { 'data-direct': 'true' } : {})}
		>
			{(showHeader || direct) && (
				<div className="chat-msg-meta">
					{showHeader && <span className="chat-msg-sender">{own ? 'You' : fromName}</span>}
					{direct && (
						<span className="chat-dm-tag" data-testid="chat-dm-tag">
							{own ? `Direct to ${toName ?? to}` : 'Direct to you'}
						</span>
					)}
					{showHeader && (
						<time className="chat-msg-time" dateTime={new Date(ts).toISOString()} title={formatDateTime(ts)}>
							{formatTime(ts)}
						</time>
					)}
				</div>
			)}
			<div className="chat-bubble">
				{text.length > 0 && (
					<p className="chat-text" data-testid="chat-text">
						{linkify(text).map((part, i) =>
							part.kind === 'link' ? (
								<a key={i} href={part.href} target="_blank" rel="noopener noreferrer" className="chat-link">
									{part.text}
								</a>
							) : (
								part.text
							),
						)}
					</p>
				)}
				{attachment && (
					<Attachment attachment={attachment} href={props.downloadHref} />
				)}
				{own && state && <Ticks state={state} title={props.receiptTitle} />}
			</div>
			{state === 'failed' && (
				<div className="chat-msg-error" role="alert" data-testid="chat-message-error">
					<AlertIcon width={14} height={14} />
					<span>{props.error ?? 'Not sent.'}</span>
					<button type="button" className="chat-link-button" onClick={() => props.onRetry?.(id)} data-testid="chat-retry">
						Retry
					</button>
					<button type="button" className="chat-link-button" onClick={() => props.onDiscard?.(id)} data-testid="chat-discard">
						Discard
					</button>
				</div>
			)}
		</li>
	);
});

function Attachment({ attachment, href }: { attachment: ChatAttachment; href: string | null }) {
	const body = (
		<>
			<FileIcon className="chat-attachment-icon" width={22} height={22} />
			<span className="chat-attachment-text">
				<span className="chat-attachment-name">{attachment.name}</span>
				<span className="chat-attachment-size">{formatSize(attachment.size)}</span>
			</span>
		</>
	);
	// Not a link until the message is stored (the file is, but the link is the message's).
	return href ? (
		<a
			className="chat-attachment"
			data-testid="chat-attachment"
			href={href}
			download={attachment.name}
			rel="noopener noreferrer"
			title={`Download ${attachment.name} (${formatSize(attachment.size)})`}
		>
			{body}
		</a>
	) : (
		<span className="chat-attachment" data-testid="chat-attachment">
			{body}
		</span>
	);
}

const TICK_LABEL: Record<OwnMessageState, string> = {
	pending: 'Sending…',
	failed: 'Not sent',
	sent: 'Sent',
	delivered: 'Delivered',
	read: 'Read',
};

function Ticks({ state, title }: { state: OwnMessageState; title?: string | undefined }) {
	const label = title ? `${TICK_LABEL[state]}: ${title}` : TICK_LABEL[state];
	return (
		<span className={`chat-ticks ${state}`} title={label} aria-label={label} role="img" data-testid="chat-ticks">
			{state === 'pending' && <ClockIcon width={13} height={13} />}
			{state === 'failed' && <AlertIcon width={13} height={13} />}
			{state === 'sent' && <CheckIcon width={14} height={14} />}
			{(state === 'delivered' || state === 'read') && <DoubleCheckIcon width={16} height={14} />}
		</span>
	);
}
