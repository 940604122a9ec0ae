/**
 * The lobby: name, room, camera and microphone choice with a live preview, then Join.
 * The preview tracks are handed over to the call (no second getUserMedia on join).
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { CameraIcon, CameraOffIcon, MicIcon, MicOffIcon } from '../components/Icons.tsx';
import { LobbyDevicePickers } from '../components/LobbyDevicePickers.tsx';
import { LobbyMessages } from '../components/LobbyMessages.tsx';
import { MicLevel } from '../components/MicLevel.tsx';
import type { ServerInfo } from '../lib/api.ts';
import type { LinkState } from '../lib/useLinkCheck.ts';
import { useRoomRecording } from '../lib/useRoomRecording.ts';
import { validateRoomName } from '../lib/route.ts';
import { load, save } from '../lib/storage.ts';
import { prewarmConnection } from '../media/connection.ts';
import { setSpeakerId, speakerId } from '../media/speaker.ts';
import { preloadDevice } from '../media/RoomClient.ts';
import {
	capture,
	getTrack,
	listDevices,
	MediaAccessError,
	onDeviceChange,
	stopTrack,
	type DeviceLists,
} from '../media/devices.ts';

export interface JoinRequest {
	name: string;
	room: string;
	micOn: boolean;
	cameraOn: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
	/** Hands the preview tracks over; after this call the lobby no longer stops them. */
	takeTracks: () => { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
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
	const [micOn, setMicOn] = useState(() => load('micOn') !== 'false');
	const [cameraOn, setCameraOn] = useState(() => load('cameraOn') !== 'false');
	const [audioTrack, setAudioTrack] = useState<MediaStreamTrack | null>(null);
	const [videoTrack, setVideoTrack] = useState<MediaStreamTrack | null>(null);
	const [devices, setDevices] = useState<DeviceLists>({ cameras: [], microphones: [], speakers: [] });
	const [speaker, setSpeaker] = useState(() => speakerId());
	const [cameraId, setCameraId] = useState(() => load('cameraId') ?? '');
	const [microphoneId, setMicrophoneId] = useState(() => load('microphoneId') ?? '');
	const [mediaErrors, setMediaErrors] = useState<MediaAccessError[]>([]);
	const [mediaReady, setMediaReady] = useState(false);
	const [joining, setJoining] = useState(false);
	const [joinError, setJoinError] = useState<string | null>(null);
	const [touched, setTouched] = useState(false);

	// The latest tracks, for cleanup and hand-over (state would be stale in callbacks).
	const tracks = useRef<{ audio: MediaStreamTrack | null; video: MediaStreamTrack | null }>({ audio: null, video: null });
	const handedOver = useRef(false);
	const mounted = useRef(true);
	/** The first capture, which Join waits for (briefly) so that it can take the tracks along. */
	const firstCapture = useRef<Promise<void> | null>(null);
	const previewRef = useRef<HTMLVideoElement>(null);

	const replaceTrack = useCallback((kind: 'audio' | 'video', track: MediaStreamTrack | null) => {
		const old = tracks.current[kind];
		if (old && old !== track) stopTrack(old);
		tracks.current[kind] = track;
		if (kind === 'audio') setAudioTrack(track);
		else setVideoTrack(track);
	}, []);

	const refreshDevices = useCallback(async () => {
		try {
			const lists = await listDevices();
			if (mounted.current) setDevices(lists);
		} catch {
			// Device lists are a convenience; the default devices still work.
		}
	}, []);

	// First capture (one permission prompt for both), then the device lists (labels need permission).
	useEffect(() => {
		mounted.current = true;
		handedOver.current = false;
		let cancelled = false;
		firstCapture.current = (async () => {
			const result = await capture({
				audio: true,
				video: cameraOn,
				...(microphoneId ? { audioDeviceId: microphoneId } : {}),
				...(cameraId ? { videoDeviceId: cameraId } : {}),
			});
			if (cancelled) {
				stopTrack(result.audio);
				stopTrack(result.video);
				return;
			}
			if (result.audio) result.audio.enabled = micOn;
			replaceTrack('audio', result.audio);
			replaceTrack('video', result.video);
			if (result.audio?.getSettings().deviceId) setMicrophoneId(result.audio.getSettings().deviceId!);
			if (result.video?.getSettings().deviceId) setCameraId(result.video.getSettings().deviceId!);
			setMediaErrors(result.errors);
			setMediaReady(true);
			await refreshDevices();
		})();
		const unsubscribe = onDeviceChange(() => void refreshDevices());
		return () => {
			cancelled = true;
			mounted.current = false;
			unsubscribe();
			if (!handedOver.current) {
				stopTrack(tracks.current.audio);
				stopTrack(tracks.current.video);
			}
			tracks.current = { audio: null, video: null };
		};
		// Runs once per lobby visit; later changes go through the handlers below.
	}, []);

	// Warm-up while the person looks at the preview: the media Device and (dev) the token.
	useEffect(() => {
		preloadDevice();
		return prewarmConnection();
	}, []);
	const { onPrepare } = props;
	useEffect(() => {
		const trimmedRoom = room.trim();
		const trimmed = name.trim();
		if (!onPrepare || !trimmed || validateRoomName(trimmedRoom)) return;
		const timer = setTimeout(() => onPrepare(trimmedRoom, trimmed), 250);
		return () => clearTimeout(timer);
	}, [room, name, onPrepare]);

	useEffect(() => {
		const video = previewRef.current;
		if (!video) return;
		video.srcObject = videoTrack ? new MediaStream([videoTrack]) : null;
		if (videoTrack) video.play().catch(() => {});
	}, [videoTrack]);

	const dropError = (device: 'camera' | 'microphone'): void =>
		setMediaErrors((errors) => errors.filter((e) => e.device !== device && e.device !== 'camera and microphone'));

	const addError = (error: unknown, device: 'camera' | 'microphone'): void => {
		const e = error instanceof MediaAccessError ? error : new MediaAccessError('unknown', device, String(error));
		setMediaErrors((errors) => [...errors.filter((x) => x.device !== device), e]);
	};

	const toggleCamera = async (): Promise<void> => {
		// What the button shows (on only with a live camera) is what a click turns around.
		const next = !(cameraOn && !!tracks.current.video);
		setCameraOn(next);
		save('cameraOn', String(next));
		if (!next) {
			replaceTrack('video', null);
			return;
		}
		try {
			const track = await getTrack('video', cameraId || undefined);
			if (!mounted.current) return track.stop();
			replaceTrack('video', track);
			dropError('camera');
			void refreshDevices();
		} catch (error) {
			setCameraOn(false);
			addError(error, 'camera');
		}
	};

	const toggleMic = async (): Promise<void> => {
		const next = !(micOn && !!tracks.current.audio);
		setMicOn(next);
		save('micOn', String(next));
		if (tracks.current.audio) {
			tracks.current.audio.enabled = next;
			return;
		}
		if (!next) return;
		try {
			const track = await getTrack('audio', microphoneId || undefined);
			if (!mounted.current) return track.stop();
			replaceTrack('audio', track);
			dropError('microphone');
			void refreshDevices();
		} catch (error) {
			setMicOn(false);
			addError(error, 'microphone');
		}
	};

	const pickCamera = async (deviceId: string): Promise<void> => {
		setCameraId(deviceId);
		save('cameraId', deviceId);
		if (!cameraOn) return;
		try {
			replaceTrack('video', null);
			const track = await getTrack('video', deviceId);
			if (!mounted.current) return track.stop();
			replaceTrack('video', track);
			dropError('camera');
		} catch (error) {
			addError(error, 'camera');
		}
	};

	const pickMicrophone = async (deviceId: string): Promise<void> => {
		setMicrophoneId(deviceId);
		save('microphoneId', deviceId);
		try {
			const track = await getTrack('audio', deviceId);
			if (!mounted.current) return track.stop();
			track.enabled = micOn;
			replaceTrack('audio', track);
			dropError('microphone');
		} catch (error) {
			addError(error, 'microphone');
		}
	};

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
			if (firstCapture.current) {
				await Promise.race([firstCapture.current, new Promise((resolve) => setTimeout(resolve, 5000))]);
			}
			await props.onJoin({
				name: trimmedName,
				room: room.trim(),
				micOn: micOn && !!tracks.current.audio,
				cameraOn: cameraOn && !!tracks.current.video,
				...(microphoneId ? { audioDeviceId: microphoneId } : {}),
				...(cameraId ? { videoDeviceId: cameraId } : {}),
				takeTracks: () => {
					handedOver.current = true;
					const handed = tracks.current;
					tracks.current = { audio: null, video: null };
					return handed;
				},
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
	const errors = [...new Map(mediaErrors.map((e) => [e.message, e])).values()];
	const blocked = (device: 'camera' | 'microphone'): boolean =>
		errors.some((e) => e.kind === 'permission-denied' && (e.device === device || e.device === 'camera and microphone'));
	const cameraBlocked = blocked('camera');
	const microphoneBlocked = blocked('microphone');

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
								onClick={() => void toggleMic()}
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
								onClick={() => void toggleCamera()}
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
						devices={devices}
						cameraId={cameraBlocked ? '' : cameraId}
						microphoneId={microphoneBlocked ? '' : microphoneId}
						speaker={speaker}
						cameraBlocked={cameraBlocked}
						microphoneBlocked={microphoneBlocked}
						mediaReady={mediaReady}
						onPickCamera={(id) => void pickCamera(id)}
						onPickMicrophone={(id) => void pickMicrophone(id)}
						onPickSpeaker={(id) => {
							setSpeaker(id);
							setSpeakerId(id);
						}}
					/>
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
						mediaErrors={errors}
					/>
				</section>
			</main>
		</div>
	);
}
