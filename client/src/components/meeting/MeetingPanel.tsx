/**
 * The meeting panel: who waits (hosts admit or deny), raised hands in the order they went
 * up, everyone with role, microphone, camera and hand, and — for hosts — the controls
 * (mute, stop video, ask to unmute, co-host, remove; mute all, lock, waiting room,
 * self-unmute, end for all). The server checks every action; this only offers them.
 */
import type { RemoteParticipant, LocalMedia } from '../../media/RoomClient.ts';
import type { MeetingClient, MeetingSnapshot } from '../../meeting/MeetingClient.ts';
import { CameraIcon, CameraOffIcon, CloseIcon, MicIcon, MicOffIcon } from '../Icons.tsx';
import type { MeetingMember } from '../../../../signaling/protocol/index.ts';

export interface MeetingPanelProps {
	meeting: MeetingClient;
	snapshot: MeetingSnapshot;
	selfId: string;
	local: LocalMedia;
	participants: readonly RemoteParticipant[];
	onClose: () => void;
	/** Hosts: show the meeting's recordings. */
	onOpenRecordings?: () => void;
}

const ROLE_LABEL = { host: 'Host', cohost: 'Co-host', participant: '' } as const;

export function MeetingPanel({ meeting, snapshot, selfId, local, participants, onClose, onOpenRecordings }: MeetingPanelProps) {
	const { state, waiting, role } = snapshot;
	const moderator = role !== 'participant';
	const media = new Map(participants.map((p) => [p.id, p]));
	const handOrder = new Map(state.hands.map((h, i) => [h.identity, i + 1]));
	const ignore = (): void => {}; // errors are shown as toasts by MeetingClient
	const members = [...state.members].sort((a, b) => (a.identity === selfId ? -1 : b.identity === selfId ? 1 : a.name.localeCompare(b.name)));

	const stateOf = (m: MeetingMember) => {
		if (m.identity === selfId) return { micOn: local.micOn, cameraOn: local.cameraOn };
		const p = media.get(m.identity);
		return { micOn: p ? !p.audioMuted : false, cameraOn: p?.videoOn ?? false };
	};

	return (
		<aside
			className="chat-panel meeting-panel"
			data-testid="meeting-panel"
			aria-label="Participants"
			onKeyDown={(e) => {
				if (e.key === 'Escape') onClose();
			}}
		>
			<div className="chat-header">
				<h2 className="meeting-title">Participants ({state.members.length})</h2>
				<button type="button" className="chat-icon-button" onClick={onClose} aria-label="Close participants" title="Close">
					<CloseIcon width={18} height={18} />
				</button>
			</div>
			<div className="meeting-body">
				{moderator && waiting.length > 0 && (
					<section aria-label="Waiting room" data-testid="waiting-list">
						<h3 className="meeting-section">Waiting to join ({waiting.length})</h3>
						<ul className="meeting-list">
							{waiting.map((w) => (
								<li key={w.identity} className="meeting-person" data-testid="waiting-person" data-identity={w.identity}>
									<span className="meeting-name">{w.name}</span>
									<span className="meeting-actions">
										<button type="button" className="meeting-action primary" onClick={() => meeting.admit(w.identity).catch(ignore)} data-testid="admit">
											Admit<span className="visually-hidden"> {w.name}</span>
										</button>
										<button type="button" className="meeting-action" onClick={() => meeting.deny(w.identity).catch(ignore)} data-testid="deny">
											Deny<span className="visually-hidden"> {w.name}</span>
										</button>
									</span>
								</li>
							))}
						</ul>
						{waiting.length > 1 && (
							<div className="meeting-row">
								<button type="button" className="meeting-action primary" onClick={() => meeting.admit(null).catch(ignore)}>
									Admit all
								</button>
								<button type="button" className="meeting-action" onClick={() => meeting.deny(null).catch(ignore)}>
									Deny all
								</button>
							</div>
						)}
					</section>
				)}
				{state.hands.length > 0 && (
					<section aria-label="Raised hands" data-testid="hands">
						<h3 className="meeting-section">Raised hands</h3>
						<ol className="meeting-list">
							{state.hands.map((h) => (
								<li key={h.identity} className="meeting-person" data-testid="hand" data-identity={h.identity}>
									<span className="meeting-name">
										<span aria-hidden="true">✋ </span>
										{h.name}
									</span>
									{(moderator || h.identity === selfId) && (
										<button type="button" className="meeting-action" onClick={() => meeting.lowerHand(h.identity === selfId ? undefined : h.identity).catch(ignore)}>
											Lower<span className="visually-hidden"> {h.name}'s hand</span>
										</button>
									)}
								</li>
							))}
						</ol>
					</section>
				)}
				<section aria-label="In the meeting">
					<ul className="meeting-list" data-testid="members">
						{members.map((m) => {
							const self = m.identity === selfId;
							const { micOn, cameraOn } = stateOf(m);
							const hand = handOrder.get(m.identity);
							return (
								<li
									key={m.identity}
									className="meeting-person"
									data-testid="member"
									data-identity={m.identity}
									data-role={m.role}
									data-mic={micOn ? 'on' : 'off'}
									data-camera={cameraOn ? 'on' : 'off'}
									data-hand={hand ? String(hand) : undefined}
								>
									<span className="meeting-name">
										{m.name}
										{self && <span className="chat-person-you"> (you)</span>}
										{ROLE_LABEL[m.role] && <span className="meeting-role"> · {ROLE_LABEL[m.role]}</span>}
									</span>
									<span className="meeting-states">
										{hand && (
											<span role="img" aria-label={`Hand raised, number ${hand}`} title={`Hand raised (#${hand})`}>
												✋
											</span>
										)}
										<span role="img" aria-label={micOn ? 'Microphone on' : 'Microphone off'} className={micOn ? '' : 'off'}>
											{micOn ? <MicIcon width={16} height={16} /> : <MicOffIcon width={16} height={16} />}
										</span>
										<span role="img" aria-label={cameraOn ? 'Camera on' : 'Camera off'} className={cameraOn ? '' : 'off'}>
											{cameraOn ? <CameraIcon width={16} height={16} /> : <CameraOffIcon width={16} height={16} />}
										</span>
									</span>
									{moderator && !self && (
										<span className="meeting-actions" role="group" aria-label={`Host controls for ${m.name}`}>
											{micOn ? (
												<button type="button" className="meeting-action" onClick={() => meeting.mute(m.identity, 'microphone').catch(ignore)} data-testid="host-mute">
													Mute<span className="visually-hidden"> {m.name}</span>
												</button>
											) : (
												<button type="button" className="meeting-action" onClick={() => meeting.askUnmute(m.identity).catch(ignore)} data-testid="host-ask-unmute">
													Ask to unmute<span className="visually-hidden"> {m.name}</span>
												</button>
											)}
											{cameraOn && (
												<button type="button" className="meeting-action" onClick={() => meeting.mute(m.identity, 'camera').catch(ignore)} data-testid="host-stop-video">
													Stop video<span className="visually-hidden"> of {m.name}</span>
												</button>
											)}
											{media.get(m.identity)?.screen && (
												<button type="button" className="meeting-action" onClick={() => meeting.mute(m.identity, 'screen').catch(ignore)}>
													Stop share<span className="visually-hidden"> of {m.name}</span>
												</button>
											)}
											{role === 'host' && m.role !== 'host' && (
												<button
													type="button"
													className="meeting-action"
													onClick={() => meeting.setRole(m.identity, m.role === 'cohost' ? 'participant' : 'cohost').catch(ignore)}
												>
													{m.role === 'cohost' ? 'Remove co-host' : 'Make co-host'}
													<span className="visually-hidden"> {m.name}</span>
												</button>
											)}
											{m.role !== 'host' && (
												<button
													type="button"
													className="meeting-action danger"
													data-testid="host-remove"
													onClick={() => {
														if (window.confirm(`Remove ${m.name} from the meeting? They cannot come back with the same link.`)) {
															meeting.remove(m.identity).catch(ignore);
														}
													}}
												>
													Remove<span className="visually-hidden"> {m.name}</span>
												</button>
											)}
										</span>
									)}
								</li>
							);
						})}
					</ul>
				</section>
				{moderator && (
					<section aria-label="Meeting settings" className="meeting-settings">
						<h3 className="meeting-section">Host controls</h3>
						<button
							type="button"
							className={`meeting-action${snapshot.recording.active ? ' danger' : ''}`}
							onClick={() => (snapshot.recording.active ? meeting.stopRecording() : meeting.startRecording()).catch(ignore)}
							aria-pressed={snapshot.recording.active}
							data-testid="host-record"
						>
							{snapshot.recording.active ? 'Stop recording' : 'Record the meeting'}
						</button>
						{onOpenRecordings && (
							<button type="button" className="meeting-action" onClick={onOpenRecordings} data-testid="host-recordings">
								Recordings
							</button>
						)}
						<button type="button" className="meeting-action" onClick={() => meeting.muteAll().catch(ignore)} data-testid="host-mute-all">
							Mute everyone else
						</button>
						<SettingToggle
							checked={state.settings.locked}
							onChange={(on) => meeting.updateSettings({ locked: on }).catch(ignore)}
							testId="setting-locked"
							label="Lock the meeting (nobody new can join)"
						/>
						<SettingToggle
							checked={state.settings.waitingRoom}
							onChange={(on) => meeting.updateSettings({ waitingRoom: on }).catch(ignore)}
							testId="setting-waiting-room"
							label="Waiting room (hosts let people in)"
						/>
						<SettingToggle
							checked={!state.settings.allowSelfUnmute}
							onChange={(on) => meeting.updateSettings({ allowSelfUnmute: !on }).catch(ignore)}
							testId="setting-hosts-allow-unmute"
							label="Hosts must allow unmuting"
						/>
						<button
							type="button"
							className="meeting-action danger"
							data-testid="host-end"
							onClick={() => {
								if (window.confirm('End the meeting for everyone?')) meeting.endMeeting().catch(ignore);
							}}
						>
							End meeting for all
						</button>
					</section>
				)}
			</div>
		</aside>
	);
}

/** A host setting: a checkbox and its label. */
function SettingToggle({ checked, onChange, testId, label }: { checked: boolean; onChange: (checked: boolean) => void; testId: string; label: string }) {
	return (
		<label className="meeting-toggle">
			<input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
			{label}
		</label>
	);
}
