/**
 * Writing a message: the recipient (everyone, or one participant for a direct message),
 * the text (Enter sends, Shift+Enter is a new line, 4000 characters at most), an
 * attachment uploaded with progress, and the typing signal (on while typing, off after
 * 3 s without a key or on send).
 */
import { useEffect, useRef, useState, type ChangeEvent, type KeyboardEvent } from 'react';
import type { ChatAttachment, Presence } from '../../../../signaling/protocol/index.ts';
import { Limits } from '../../../../signaling/protocol/limits.ts';
import { formatSize } from '../../chat/format.ts';
import { TypingSignal } from '../../chat/TypingSignal.ts';
import { UploadError, uploadFile, type UploadHandle } from '../../chat/upload.ts';
import { CloseIcon, FileIcon, PaperclipIcon, SendIcon } from './icons.tsx';
import type { ChatController } from './useChat.ts';

const TEXT_MAX = Limits.textMax;
const COUNTER_FROM = TEXT_MAX - 400;

type Upload =
	| { state: 'uploading'; name: string; size: number; loaded: number; handle: UploadHandle }
	| { state: 'done'; attachment: ChatAttachment };

export interface ComposerProps {
	ctl: ChatController;
	/** Direct message recipient (identity), or null for everyone. */
	to: string | null;
	onToChange: (to: string | null) => void;
	focusKey: number;
}

export function Composer({ ctl, to, onToChange, focusKey }: ComposerProps) {
	const { res, people } = ctl;
	const { identity, room, token } = res.session;
	const [text, setText] = useState('');
	const [upload, setUpload] = useState<Upload | null>(null);
	const [error, setError] = useState<string | null>(null);
	const inputRef = useRef<HTMLTextAreaElement>(null);
	const fileRef = useRef<HTMLInputElement>(null);
	const typingRef = useRef<TypingSignal | null>(null);
	typingRef.current ??= new TypingSignal((typing, recipient) => res.chat.setTyping(typing, recipient));
	const typing = typingRef.current;

	const recipients = people.filter((p) => p.identity !== identity && (p.state !== 'left' || p.identity === to));
	const toName = to ? (people.find((p) => p.identity === to)?.name ?? to) : null;

	const stopTyping = (): void => typing.stop();
	const noteTyping = (): void => typing.keystroke(to);

	// Stop typing when leaving (unmount) or when the recipient changes.
	useEffect(() => () => typing.stop(), [typing]);
	useEffect(() => {
		if (typing.to !== undefined && typing.to !== to) typing.stop();
	}, [typing, to]);
	const uploadRef = useRef(upload);
	uploadRef.current = upload;
	useEffect(
		() => () => {
			const current = uploadRef.current;
			if (current?.state === 'uploading') current.handle.abort();
		},
		[],
	);

	useEffect(() => {
		if (focusKey > 0) inputRef.current?.focus();
	}, [focusKey]);

	const tooLong = text.length > TEXT_MAX;
	const attachment = upload?.state === 'done' ? upload.attachment : null;
	const canSend = !tooLong && upload?.state !== 'uploading' && (text.trim().length > 0 || attachment !== null);

	const send = (): void => {
		if (!canSend) return;
		res.chat.send(text.trim(), { to, attachment });
		setText('');
		setUpload(null);
		setError(null);
		stopTyping();
		inputRef.current?.focus();
	};

	const onChange = (e: ChangeEvent<HTMLTextAreaElement>): void => {
		const value = e.target.value;
		setText(value);
		if (value.trim().length > 0) noteTyping();
		else stopTyping();
	};

	const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
		if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
			e.preventDefault();
			send();
		}
	};

	const onFile = (e: ChangeEvent<HTMLInputElement>): void => {
		const file = e.target.files?.[0];
		e.target.value = '';
		if (!file) return;
		if (upload?.state === 'uploading') upload.handle.abort();
		setError(null);
		const handle = uploadFile(room, token, file, (loaded) =>
			setUpload((u) => (u?.state === 'uploading' && u.handle === handle ? { ...u, loaded } : u)),
		);
		setUpload({ state: 'uploading', name: file.name, size: file.size, loaded: 0, handle });
		handle.promise.then(
			(answer) => {
				setUpload((u) => (u?.state === 'uploading' && u.handle === handle ? { state: 'done', attachment: answer } : u));
				inputRef.current?.focus();
			},
			(err: unknown) => {
				setUpload((u) => (u?.state === 'uploading' && u.handle === handle ? null : u));
				if (err instanceof UploadError && err.status === -1) return;
				setError(`${file.name}: ${err instanceof Error ? err.message : String(err)}`);
			},
		);
	};

	const removeUpload = (): void => {
		if (upload?.state === 'uploading') upload.handle.abort();
		setUpload(null);
	};

	// Grow with the text, up to a few lines.
	useEffect(() => {
		const el = inputRef.current;
		if (!el) return;
		el.style.height = '';
		// Nothing to measure when empty, or while the panel is hidden (scrollHeight 0).
		if (!text || el.scrollHeight === 0) return;
		el.style.height = 'auto';
		el.style.height = `${Math.min(el.scrollHeight, 140)}px`;
	}, [text]);

	return (
		<div className="chat-composer">
			<div className="chat-to">
				<label htmlFor="chat-recipient">To</label>
				<select
					id="chat-recipient"
					value={to ?? ''}
					onChange={(e) => onToChange(e.target.value || null)}
					data-testid="chat-recipient"
					className={to ? 'direct' : ''}
				>
					<option value="">Everyone</option>
					{recipients.map((p: Presence) => (
						<option key={p.identity} value={p.identity}>
							{p.name} (direct){p.state === 'left' ? ' — left' : ''}
						</option>
					))}
				</select>
			</div>
			{upload && (
				<div className="chat-upload" data-testid="chat-upload" data-state={upload.state}>
					<FileIcon width={18} height={18} />
					<span className="chat-upload-name">{upload.state === 'done' ? upload.attachment.name : upload.name}</span>
					<span className="chat-upload-size">
						{upload.state === 'done'
							? formatSize(upload.attachment.size)
							: `${Math.round((100 * upload.loaded) / Math.max(1, upload.size))}%`}
					</span>
					{upload.state === 'uploading' && (
						<progress max={Math.max(1, upload.size)} value={upload.loaded} aria-label="Upload progress" />
					)}
					<button type="button" className="chat-icon-button" onClick={removeUpload} aria-label="Remove the attachment" title="Remove">
						<CloseIcon width={16} height={16} />
					</button>
				</div>
			)}
			{error && (
				<div className="chat-error" role="alert" data-testid="chat-error">
					<span>{error}</span>
					<button type="button" className="chat-icon-button" onClick={() => setError(null)} aria-label="Dismiss">
						<CloseIcon width={14} height={14} />
					</button>
				</div>
			)}
			<div className={`chat-input-row${tooLong ? ' too-long' : ''}`}>
				<button
					type="button"
					className="chat-icon-button"
					onClick={() => fileRef.current?.click()}
					aria-label="Attach a file"
					title="Attach a file"
					data-testid="chat-attach"
				>
					<PaperclipIcon />
				</button>
				<input ref={fileRef} type="file" className="chat-visually-hidden" tabIndex={-1} aria-label="Attach a file" onChange={onFile} data-testid="chat-file-input" />
				<textarea
					ref={inputRef}
					rows={1}
					value={text}
					onChange={onChange}
					onKeyDown={onKeyDown}
					placeholder={toName ? `Message ${toName} (direct)` : 'Message everyone'}
					aria-label={toName ? `Direct message to ${toName}` : 'Message to everyone'}
					aria-invalid={tooLong}
					data-testid="chat-input"
				/>
				<button
					type="button"
					className="chat-send"
					onClick={send}
					disabled={!canSend}
					aria-label="Send"
					title="Send (Enter)"
					data-testid="chat-send"
				>
					<SendIcon width={18} height={18} />
				</button>
			</div>
			{text.length >= COUNTER_FROM && (
				<div className={`chat-counter${tooLong ? ' over' : ''}`} data-testid="chat-counter" aria-live="polite">
					{text.length} / {TEXT_MAX}
					{tooLong ? ' — too long to send' : ''}
				</div>
			)}
		</div>
	);
}
