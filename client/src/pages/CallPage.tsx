/** The meeting: the video grid, hidden audio players and the control bar. */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Banner } from '../components/Banner.tsx';
import { ChatPanel, ChatToggle, useChat } from '../components/chat/index.ts';
import {
	CameraIcon,
	CameraOffIcon,
	KeyboardIcon,
	LeaveIcon,
	TicketIcon,
	LinkIcon,
	MicIcon,
	MicOffIcon,
	SettingsIcon,
	SpeakerIcon,
	UsersIcon,
} from '../components/Icons.tsx';
import { DeviceDialog, DeviceMenu } from '../components/DeviceMenu.tsx';
import { RemoteAudio, resumeAllAudio } from '../components/RemoteAudio.tsx';
import { CallMediaControls } from '../components/CallMediaControls.tsx';
import { ControlButton, MediaToggle } from '../components/ControlButton.tsx';
import { Stage, type StageMode } from '../components/Stage.tsx';
import { StatsPanel } from '../components/StatsPanel.tsx';
import { MutedHint } from '../components/MutedHint.tsx';
import { ConnectionBanner } from '../components/ConnectionBanner.tsx';
import { InvitesDialog } from '../components/InvitesDialog.tsx';
import { RecordingsDialog } from '../components/RecordingsDialog.tsx';
import { ShortcutsDialog } from '../components/ShortcutsDialog.tsx';
import { useShortcuts, type ShortcutAction } from '../lib/shortcuts.ts';
import type { RoomClient } from '../media/RoomClient.ts';
import { mark } from '../media/marks.ts';
import { MeetingControls } from '../components/meeting/MeetingControls.tsx';
import { MeetingPanel } from '../components/meeting/MeetingPanel.tsx';
import { MeetingToasts } from '../components/meeting/MeetingToasts.tsx';
import { WaitingScreen } from '../components/meeting/WaitingScreen.tsx';
import '../components/meeting/meeting.css';
import { meetingOf } from '../meeting/attach.ts';
import { MoreControls } from '../components/MoreControls.tsx';
import { copyText, useElapsed, useMediaQuery } from '../lib/callHooks.ts';

export type InviteLink = { ok: true; url: string } | { ok: false; message: string };

export interface CallPageProps {
	client: RoomClient;
	/** The link "Copy link" copies: the room link (dev), an invitation (hosts), or why there is none. */
	inviteLink: () => Promise<InviteLink>;
	/** Hosts outside dev mode: the Invitations dialog (list, revoke). */
	canManageInvites: boolean;
	/** This participant's join token (for the invitations API). */
	token: string;
	/** Called as the person leaves, with the state Rejoin should restore. */
	onLeaving?: (state: { micOn: boolean; cameraOn: boolean }) => void;
	onLeave: () => void;
}

export function CallPage({ client, inviteLink, canManageInvites, token, onLeaving, onLeave }: CallPageProps) {
	const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot);
	const { participants, local, status } = snapshot;
	const [copied, setCopied] = useState<{ ok: true } | { ok: false; text: string } | null>(null);
	const [dialog, setDialog] = useState<'shortcuts' | 'invites' | 'recordings' | 'devices' | null>(null);
	const [showPeople, setShowPeople] = useState(0);
	const narrow = useMediaQuery('(max-width: 560px)');
	const [audioBlocked, setAudioBlocked] = useState(false);
	const [leaving, setLeaving] = useState(false);
	const copiedTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
	const elapsed = useElapsed(status === 'joined');
	const chat = useChat(client);
	const meeting = meetingOf(client);
	const meetingSnap = useSyncExternalStore(meeting.subscribe, meeting.getSnapshot);
	const [peopleOpen, setPeopleOpen] = useState(false);
	const selfId = snapshot.self?.id ?? meeting.identity;
	const hands = new Map(meetingSnap.state.hands.map((h, i) => [h.identity, i + 1]));
	const [stageMode, setStageMode] = useState<StageMode>('grid');
	const [pinned, setPinned] = useState<string | null>(null);
	const [hiddenVideos, setHiddenVideos] = useState<ReadonlySet<string>>(() => new Set());
	const [statsOpen, setStatsOpen] = useState(false);
	const [audioOnly, setAudioOnly] = useState(false);
	const cameraBeforeAudioOnly = useRef(false);
	useEffect(() => mark('call-page-mounted'), []);
	// A notice's time starts when it is on screen (one raised during the join waits for this page).
	useEffect(() => {
		if (snapshot.notice) client.noticeShown();
	}, [client, snapshot.notice]);
	const togglePin = useCallback((key: string) => setPinned((old) => (old === key ? null : key)), []);
	const toggleVideoHidden = useCallback(
		(peerId: string) =>
			setHiddenVideos((old) => {
				const next = new Set(old);
				if (!next.delete(peerId)) next.add(peerId);
				return next;
			}),
		[],
	);

	useEffect(
		() => () => {
			if (copiedTimer.current) clearTimeout(copiedTimer.current);
		},
		[],
	);

	const showCopied = (result: { ok: true } | { ok: false; text: string }): void => {
		setCopied(result);
		if (copiedTimer.current) clearTimeout(copiedTimer.current);
		copiedTimer.current = setTimeout(() => setCopied(null), result.ok ? 2500 : 8000);
	};
	const copyUrl = async (url: string): Promise<void> => {
		showCopied((await copyText(url)) ? { ok: true } : { ok: false, text: `Copy this link: ${url}` });
	};
	const copyLink = async (): Promise<void> => {
		const link = await inviteLink();
		if (link.ok) await copyUrl(link.url);
		else showCopied({ ok: false, text: link.message });
	};

	const leave = async (): Promise<void> => {
		setLeaving(true);
		onLeaving?.({ micOn: local.micOn, cameraOn: local.cameraOn });
		await client.leave();
		onLeave();
	};

	/** Audio only: the camera off and everyone's video paused (the SFU stops sending it); back as it was. */
	const switchAudioOnly = (on: boolean): void => {
		setAudioOnly(on);
		if (on) {
			cameraBeforeAudioOnly.current = local.cameraOn;
			if (local.cameraOn) void client.setCameraEnabled(false);
		} else if (cameraBeforeAudioOnly.current) {
			void client.setCameraEnabled(true);
		}
	};

	const onAudioBlocked = useCallback(() => setAudioBlocked(true), []);
	const enableAudio = (): void => {
		resumeAllAudio();
		setAudioBlocked(false);
	};

	const count = participants.length + 1;
	const connecting = status === 'connecting';
	const chatOpen = chat?.open ?? false;
	const setChatOpen = chat?.setOpen;
	const available: ReadonlySet<ShortcutAction> = new Set<ShortcutAction>(['mic', 'camera', 'help', ...(chat ? (['chat'] as const) : [])]);
	useShortcuts({
		mic: () => {
			if (!local.micBusy && status !== 'closed') void client.setMicEnabled(!local.micOn);
		},
		camera: () => {
			if (!local.cameraBusy && status !== 'closed') void client.setCameraEnabled(!local.cameraOn);
		},
		...(setChatOpen ? { chat: () => setChatOpen(!chatOpen) } : {}),
		help: () => setDialog('shortcuts'),
	});
	const openPeople = (): void => {
		setChatOpen?.(true);
		setShowPeople((n) => n + 1);
	};

	const secondary = (
		<>
			<CallMediaControls
				local={local}
				status={status}
				onToggleScreen={() => void client.setScreenShareEnabled(!local.screenOn)}
				mode={stageMode}
				onToggleMode={() => setStageMode((m) => (m === 'grid' ? 'speaker' : 'grid'))}
				statsOpen={statsOpen}
				onToggleStats={() => setStatsOpen((o) => !o)}
			/>
			<ControlButton
				onClick={() => void copyLink()}
				aria-label="Copy link to the meeting"
				title="Copy meeting link"
				data-testid="copy-link"
				icon={<LinkIcon />}
				label="Copy link"
			/>
			{canManageInvites && (
				<ControlButton
					onClick={() => setDialog('invites')}
					aria-label="Invitations"
					title="Invitations"
					data-testid="open-invites"
					icon={<TicketIcon />}
					label="Invitations"
				/>
			)}
			{narrow && <ControlButton onClick={() => setDialog('devices')} data-testid="open-devices" icon={<SettingsIcon />} label="Devices" />}
			{narrow && (
				<ControlButton onClick={() => setDialog('shortcuts')} data-testid="open-shortcuts-menu" icon={<KeyboardIcon />} label="Keyboard shortcuts" />
			)}
		</>
	);

	// Hand, reactions and people: in the bar on wide screens, behind More on phones.
	const meetingControls = (
		<MeetingControls
			meeting={meeting}
			snapshot={meetingSnap}
			selfId={snapshot.self?.id ?? null}
			panelOpen={peopleOpen}
			onTogglePanel={() => setPeopleOpen((o) => !o)}
		/>
	);
	return (
		<div className="call" data-testid="call" data-status={status}>
			<header className="call-header">
				<div className="call-title">
					<span className="brand-mark small" aria-hidden="true" />
					<span className="call-room" data-testid="call-room">
						{client.room}
					</span>
					{status === 'joined' && <span className="call-elapsed">{elapsed}</span>}
					{meetingSnap.recording.active && (
						<span className="recording-indicator" role="status" aria-label="This meeting is being recorded" title="This meeting is being recorded" data-testid="recording-indicator">
							<span className="recording-dot" aria-hidden="true" /> Recording
						</span>
					)}
				</div>
				<div className="call-meta">
					<button
						type="button"
						className="call-count"
						onClick={openPeople}
						aria-label={`${count} in the call: show the participants`}
						title={`${count} in the call`}
						data-testid="participant-count"
					>
						<UsersIcon width={16} height={16} aria-hidden="true" /> {count}
					</button>
					<button
						type="button"
						className="header-button"
						onClick={() => setDialog('shortcuts')}
						aria-label="Keyboard shortcuts"
						title="Keyboard shortcuts (?)"
						data-testid="open-shortcuts"
					>
						<KeyboardIcon width={18} height={18} aria-hidden="true" />
					</button>
				</div>
			</header>

			<main className="stage">
				<Stage
					client={client}
					snapshot={snapshot}
					mode={stageMode}
					pinned={pinned}
					onTogglePin={togglePin}
					hiddenVideos={audioOnly ? new Set(participants.map((p) => p.id)) : hiddenVideos}
					onToggleVideoHidden={toggleVideoHidden}
					reactions={meetingSnap.reactions}
					hands={hands}
				/>
				<MutedHint track={local.audioTrack} muted={!local.micOn && status === 'joined'} />
				{statsOpen && <StatsPanel client={client} onClose={() => setStatsOpen(false)} />}
				<ChatPanel chat={chat} showPeople={showPeople} />
				{peopleOpen && (
					<MeetingPanel
						meeting={meeting}
						snapshot={meetingSnap}
						selfId={selfId}
						local={local}
						participants={participants}
						onClose={() => setPeopleOpen(false)}
						onOpenRecordings={() => setDialog('recordings')}
					/>
				)}
				{meetingSnap.admission === 'waiting' && (
					<WaitingScreen
						room={client.room}
						videoTrack={local.cameraOn ? local.videoTrack : null}
						recording={meetingSnap.recording.active}
						onLeave={() => void leave()}
					/>
				)}
				{participants.length === 0 && status === 'joined' && (
					<div className="alone-hint" data-testid="alone-hint">
						<p>You are the only one here.</p>
						<button type="button" className="secondary-button" onClick={() => void copyLink()}>
							<LinkIcon width={16} height={16} /> Copy the invite link
						</button>
					</div>
				)}
				{(connecting || status === 'reconnecting') && meetingSnap.admission !== 'waiting' && (
					<div className="stage-overlay" data-testid="connecting" data-reconnecting={snapshot.reconnecting ?? undefined}>
						<div className="spinner" aria-hidden="true" />
						<span>
							{connecting
								? 'Joining…'
								: snapshot.reconnecting === 'media'
									? 'Reconnecting audio and video…'
									: 'Connection lost. Reconnecting…'}
						</span>
					</div>
				)}
			</main>

			<div className="toasts">
				<ConnectionBanner quality={snapshot.selfQuality} audioOnly={audioOnly} onAudioOnly={switchAudioOnly} />
				<MeetingToasts meeting={meeting} snapshot={meetingSnap} onUnmute={() => void client.setMicEnabled(true)} />
				{snapshot.notice && (
					<Banner kind="warning" onClose={() => client.dismissNotice()} testId="notice">
						{snapshot.notice}
					</Banner>
				)}
				{audioBlocked && (
					<button type="button" className="banner banner-info banner-button" onClick={enableAudio} data-testid="enable-audio">
						<SpeakerIcon className="banner-icon" />
						<span className="banner-text">Your browser blocked sound. Click to hear the others.</span>
					</button>
				)}
				{copied && (
					<div className="banner banner-info" role="status" data-testid="copied">
						<span className="banner-text">{copied.ok ? 'Meeting link copied.' : copied.text}</span>
					</div>
				)}
			</div>

			<footer className="controls" aria-label="Call controls">
				<MediaToggle
					on={local.micOn}
					disabled={local.micBusy || status === 'closed'}
					onToggle={() => void client.setMicEnabled(!local.micOn)}
					ariaLabel={local.micOn ? 'Mute microphone' : 'Unmute microphone'}
					title={local.micOn ? 'Mute microphone' : 'Unmute microphone'}
					icon={local.micOn ? <MicIcon /> : <MicOffIcon />}
					label={local.micOn ? 'Mute' : 'Unmute'}
					testId="toggle-mic"
				/>
				{!narrow && <DeviceMenu client={client} local={local} devices={snapshot.devices} group="microphone" />}
				<MediaToggle
					on={local.cameraOn}
					disabled={local.cameraBusy || status === 'closed'}
					onToggle={() => void client.setCameraEnabled(!local.cameraOn)}
					ariaLabel={local.cameraOn ? 'Stop video (turn the camera off)' : 'Start video (turn the camera on)'}
					title={local.cameraOn ? 'Turn camera off' : 'Turn camera on'}
					icon={local.cameraOn ? <CameraIcon /> : <CameraOffIcon />}
					label={local.cameraOn ? 'Stop video' : 'Start video'}
					testId="toggle-camera"
				/>
				{!narrow && <DeviceMenu client={client} local={local} devices={snapshot.devices} group="camera" />}
				{!narrow && secondary}
				{!narrow && meetingControls}
				<ChatToggle chat={chat} />
				{narrow && (
					<MoreControls>
						{secondary}
						{meetingControls}
					</MoreControls>
				)}
				<ControlButton
					className="control leave"
					onClick={() => void leave()}
					disabled={leaving}
					aria-label="Leave the meeting"
					title="Leave the meeting"
					data-testid="leave"
					icon={<LeaveIcon />}
					label="Leave"
				/>
			</footer>

			{dialog === 'shortcuts' && <ShortcutsDialog onClose={() => setDialog(null)} available={available} />}
			{dialog === 'devices' && <DeviceDialog client={client} local={local} devices={snapshot.devices} onClose={() => setDialog(null)} />}
			{dialog === 'invites' && <InvitesDialog token={token} onClose={() => setDialog(null)} onCopy={(url) => void copyUrl(url)} />}
			{dialog === 'recordings' && <RecordingsDialog token={token} room={client.room} onClose={() => setDialog(null)} />}

			{participants.map((p) =>
				p.audioTrack ? <RemoteAudio key={p.audioTrack.id} track={p.audioTrack} peerId={p.id} onBlocked={onAudioBlocked} /> : null,
			)}
		</div>
	);
}
