/**
 * The lobby: name, room, camera and microphone choice with a live preview, then Join.
 * The preview tracks are handed over to the call (no second getUserMedia on join).
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { CameraIcon, CameraOffIcon, MicIcon, MicOffIcon } from '../components/Icons.tsx';
import { BackgroundPicker } from '../components/BackgroundPicker.tsx';
import { LobbyDevicePickers } from '../components/LobbyDevicePickers.tsx';
import { LobbyMessages } from '../components/LobbyMessages.tsx';
import { MicLevel } from '../components/MicLevel.tsx';
import type { ServerInfo } from '../lib/api.ts';
import type { LinkState } from '../lib/useLinkCheck.ts';
import { useBackgroundPreview } from '../lib/useBackgroundPreview.ts';
import { useLobbyMedia, type PreviewTracks } from '../lib/useLobbyMedia.ts';
import { parseBackgroundMode } from '../media/background/background.ts';
import { useRoomRecording } from '../lib/useRoomRecording.ts';
import { validateRoomName } from '../lib/route.ts';
import { load, save } from '../lib/storage.ts';
import { prewarmConnection } from '../media/connection.ts';
import { preloadDevice } from '../media/RoomClient.ts';

export interface JoinRequest {
	name: string;
	room: string;
	micOn: boolean;
	cameraOn: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
	/** Hands the preview tracks over; after this call the lobby no longer stops them. */
	takeTracks: () => PreviewTracks;
}

export interface JoinPageProps {
	info: ServerInfo | null;
	infoError: string | null;
	initialRoom: string;
	/** A usable ?token= (a broken one is reported through `link` instead); its room fixes the room field. */
	token: string | null;
	/** Opened with a working ?invite= (exchanged for a join token on Join). */
	invited: boolean;
	/** What the lobby found about the link it was opened with. */
	link: LinkState;
	tokenRoom: string | null;
	tokenName: string | null;
	/** Why the last session ended, if it did not end by leaving. */
	lastError: string | null;
	onDismissLastError: () => void;
	onJoin: (request: JoinRequest) => Promise<void>;
	/** Called (debounced) with a valid room and name, to get ready before Join is clicked. */
	onPrepare?: (room: string, name: string) => void;
}

export function JoinPage(props: JoinPageProps) {
	const { info, token } = props;
	const [name, setName] = useState(() => props.tokenName ?? load('displayName') ?? '');
	const [room, setRoom] = useState(props.tokenRoom ?? props.initialRoom);
	const media = useLobbyMedia();
	const { audioTrack, videoTrack, micOn, cameraOn, cameraId, microphoneId, mediaReady, cameraBlocked, microphoneBlocked } = media;
	const [joining, setJoining] = useState(false);
	const [joinError, setJoinError] = useState<string | null>(null);
	const [touched, setTouched] = useState(false);
	// The background effect (remembered; the call starts with the same one).
	const [background, setBackground] = useState(() => parseBackgroundMode(load('background')));
	const preview = useBackgroundPreview(videoTrack, background);
	const mounted = useRef(true);
	const previewRef = useRef<HTMLVideoElement>(null);

	useEffect(() => {
		mounted.current = true;
		return () => {
			mounted.current = false;
		};
	}, []);

	// Warm-up while the person looks at the preview: the media Device and (dev) the token.
	useEffect(() => {
		preloadDevice();
		return prewarmConnection();
	}, []);
	const { onPrepare } = props;
	/** The room and name last prepared for: the first ones (filled in already, the usual case) at once, typing debounced. */
	const preparedFor = useRef<string | null>(null);
	useEffect(() => {
		const trimmedRoom = room.trim();
		const trimmed = name.trim();
		if (!onPrepare || !trimmed || validateRoomName(trimmedRoom)) return;
		const key = `${trimmedRoom}\n${trimmed}`;
		const delay = preparedFor.current === null || preparedFor.current === key ? 0 : 250;
		preparedFor.current = key;
		const timer = setTimeout(() => onPrepare(trimmedRoom, trimmed), delay);
		return () => clearTimeout(timer);
	}, [room, name, onPrepare]);

	useEffect(() => {
		const video = previewRef.current;
		if (!video) return;
		video.srcObject = preview.track ? new MediaStream([preview.track]) : null;
		if (preview.track) video.play().catch(() => {});
	}, [preview.track]);

	const trimmedName = name.trim();
	const nameError = trimmedName ? (trimmedName.length > 64 ? 'At most 64 characters.' : null) : 'Enter your name.';
	const roomError = validateRoomName(room.trim());
	const recording = useRoomRecording(props.tokenRoom ?? props.link.room ?? (roomError ? null : room.trim()));
	const link = props.link;
	const brokenLink = link.problem !== null && !info?.dev;
	const needsToken = info !== null && !info.dev && !token && !props.invited && !link.problem;
	const canJoin = !joining && !nameError && !roomError && !needsToken && !brokenLink && info !== null;

	const submit = async (event: FormEvent): Promise<void> => {
		event.preventDefault();
		setTouched(true);
		if (!canJoin) return;
		setJoining(true);
		setJoinError(null);
		props.onDismissLastError();
		save('displayName', trimmedName);
		try {
			await media.firstCapture(5000);
			const live = media.live();
			await props.onJoin({
				name: trimmedName,
				room: room.trim(),
				micOn: micOn && !!live.audio,
				cameraOn: cameraOn && !!live.video,
				...(microphoneId ? { audioDeviceId: microphoneId } : {}),
				...(cameraId ? { videoDeviceId: cameraId } : {}),
				takeTracks: media.takeTracks,
			});
		} catch (error) {
			if (mounted.current) {
				setJoinError(error instanceof Error ? error.message : String(error));
				setJoining(false);
			}
		}
		// On success the call page replaces this one; the button stays "Joining…" until then.
	};

	const previewOn = cameraOn && !!videoTrack;
	const micActive = micOn && !!audioTrack;

	return (
		<div className="lobby">
			<header className="brand">
				<span className="brand-mark" aria-hidden="true" />
				<span className="brand-name">Parley</span>
			</header>
			<main className="lobby-main">
				<section className="preview-panel" aria-label="Camera preview">
					<div className="preview" data-testid="preview" data-video={previewOn ? 'on' : 'off'}>
						<video
							ref={previewRef}
							className={`preview-video mirrored${previewOn ? '' : ' hidden'}`}
							data-testid="preview-video"
							data-background={preview.track === videoTrack ? 'none' : preview.ready ? background : 'starting'}
							muted
							autoPlay
							playsInline
						/>
						{!previewOn && (
							<div className="preview-off">
								{!mediaReady ? 'Starting camera…' : cameraBlocked ? 'Camera blocked' : cameraOn ? 'Camera unavailable' : 'Camera is off'}
							</div>
						)}
						<div className="preview-controls">
							<button
								type="button"
								className={`round-button${micActive ? '' : ' off'}`}
								onClick={() => void media.toggleMic()}
								aria-pressed={!micActive}
								aria-label={micActive ? 'Turn microphone off' : 'Turn microphone on'}
								title={micActive ? 'Turn microphone off' : 'Turn microphone on'}
								data-testid="preview-toggle-mic"
								data-state={micActive ? 'on' : 'off'}
							>
								{micActive ? <MicIcon /> : <MicOffIcon />}
							</button>
							<button
								type="button"
								className={`round-button${previewOn ? '' : ' off'}`}
								onClick={() => void media.toggleCamera()}
								aria-pressed={!previewOn}
								aria-label={previewOn ? 'Turn camera off' : 'Turn camera on'}
								title={previewOn ? 'Turn camera off' : 'Turn camera on'}
								data-testid="preview-toggle-camera"
								data-state={previewOn ? 'on' : 'off'}
							>
								{previewOn ? <CameraIcon /> : <CameraOffIcon />}
							</button>
						</div>
						{micActive && audioTrack && <MicLevel track={audioTrack} />}
					</div>
					<LobbyDevicePickers
						devices={media.devices}
						cameraId={cameraBlocked ? '' : cameraId}
						microphoneId={microphoneBlocked ? '' : microphoneId}
						speaker={media.speaker}
						cameraBlocked={cameraBlocked}
						microphoneBlocked={microphoneBlocked}
						mediaReady={mediaReady}
						onPickCamera={(id) => void media.pickCamera(id)}
						onPickMicrophone={(id) => void media.pickMicrophone(id)}
						onPickSpeaker={media.pickSpeaker}
					/>
					<BackgroundPicker
						value={background}
						onChange={(mode) => {
							setBackground(mode);
							save('background', mode);
						}}
						testId="background-select"
					/>
					{preview.error && (
						<p className="field-error" role="status" data-testid="background-error">
							{background === 'blur' ? 'Background blur' : 'The background picture'} is not available: {preview.error}. Your camera is shown as it is.
						</p>
					)}
				</section>

				<section className="join-panel">
					<h1>Ready to join?</h1>
					<p className="subtle">
						{props.tokenRoom && !link.problem ? (
							<>
								You are invited to <strong>{props.tokenRoom}</strong>.
							</>
						) : (
							'Pick a name and a room. Anyone with the room link can join.'
						)}
					</p>
					<form className="join-form" onSubmit={(e) => void submit(e)} noValidate>
						<label className="field">
							<span className="field-label">Your name</span>
							<input
								type="text"
								value={name}
								onChange={(e) => setName(e.target.value)}
								placeholder="e.g. Ada Lovelace"
								autoComplete="name"
								maxLength={64}
								autoFocus={!name}
								disabled={!!props.tokenName}
								aria-invalid={touched && !!nameError}
								data-testid="name-input"
							/>
							{touched && nameError && <span className="field-error">{nameError}</span>}
						</label>
						<label className="field">
							<span className="field-label">Room</span>
							<input
								type="text"
								value={room}
								onChange={(e) => setRoom(e.target.value)}
								placeholder="team-standup"
								autoComplete="off"
								spellCheck={false}
								maxLength={64}
								disabled={!!props.tokenRoom}
								aria-invalid={touched && !!roomError}
								data-testid="room-input"
							/>
							{touched && roomError && <span className="field-error">{roomError}</span>}
						</label>
						<button type="submit" className="primary-button" disabled={joining || info === null || needsToken || brokenLink} data-testid="join-button">
							{joining ? 'Joining…' : 'Join now'}
						</button>
					</form>
					<LobbyMessages
						recording={!!recording}
						lastError={props.lastError}
						onDismissLastError={props.onDismissLastError}
						joinError={joinError}
						onDismissJoinError={() => setJoinError(null)}
						infoError={props.infoError}
						linkProblem={link.problem}
						dev={!!info?.dev}
						needsToken={needsToken}
						mediaErrors={media.errors}
					/>
				</section>
			</main>
		</div>
	);
}
