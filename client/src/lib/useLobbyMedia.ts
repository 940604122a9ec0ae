/**
 * The lobby's preview media: one capture of camera and microphone when the lobby opens (one
 * permission prompt for both), the device lists, what the person turns on and off or picks,
 * and what failed. The tracks are stopped when the lobby closes unless the call took them.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { capture, getTrack, listDevices, MediaAccessError, onDeviceChange, stopTrack, type DeviceLists } from '../media/devices.ts';
import { setSpeakerId, speakerId } from '../media/speaker.ts';
import { load, save } from './storage.ts';

export interface PreviewTracks {
	audio: MediaStreamTrack | null;
	video: MediaStreamTrack | null;
}

export interface LobbyMedia {
	audioTrack: MediaStreamTrack | null;
	videoTrack: MediaStreamTrack | null;
	/** What the person wants (a track may still be missing: see `live`). */
	micOn: boolean;
	cameraOn: boolean;
	devices: DeviceLists;
	cameraId: string;
	microphoneId: string;
	speaker: string;
	/** The first capture is done (granted or not). */
	mediaReady: boolean;
	/** What failed, one per message. */
	errors: MediaAccessError[];
	cameraBlocked: boolean;
	microphoneBlocked: boolean;
	toggleCamera(): Promise<void>;
	toggleMic(): Promise<void>;
	pickCamera(deviceId: string): Promise<void>;
	pickMicrophone(deviceId: string): Promise<void>;
	pickSpeaker(deviceId: string): void;
	/** Waits for the first capture, at most `ms`, so that Join can take its tracks along. */
	firstCapture(ms: number): Promise<void>;
	/** The tracks as they are now (state would be stale in callbacks). */
	live(): PreviewTracks;
	/** Hands the tracks over; after this call the lobby no longer stops them. */
	takeTracks(): PreviewTracks;
}

export function useLobbyMedia(): LobbyMedia {
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

	// The latest tracks, for cleanup and hand-over.
	const tracks = useRef<PreviewTracks>({ audio: null, video: null });
	const handedOver = useRef(false);
	const mounted = useRef(true);
	const firstCapture = useRef<Promise<void> | null>(null);

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

	const dropError = (device: 'camera' | 'microphone'): void =>
		setMediaErrors((errors) => errors.filter((e) => e.device !== device && e.device !== 'camera and microphone'));

	const addError = (error: unknown, device: 'camera' | 'microphone'): void => {
		const e = error instanceof MediaAccessError ? error : new MediaAccessError('unknown', device, String(error));
		setMediaErrors((errors) => [...errors.filter((x) => x.device !== device), e]);
	};

	/**
	 * Capture a new preview track into the lobby (an error is shown for its device): true when
	 * it is in, false when capturing failed, null when the lobby went away meanwhile.
	 */
	const captureInto = async (kind: 'audio' | 'video', deviceId: string | undefined, enabled = true): Promise<boolean | null> => {
		const device = kind === 'video' ? 'camera' : 'microphone';
		try {
			const track = await getTrack(kind, deviceId);
			if (!mounted.current) {
				track.stop();
				return null;
			}
			track.enabled = enabled;
			replaceTrack(kind, track);
			dropError(device);
			return true;
		} catch (error) {
			addError(error, device);
			return false;
		}
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
		const got = await captureInto('video', cameraId || undefined);
		if (got) void refreshDevices();
		else if (got === false) setCameraOn(false);
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
		const got = await captureInto('audio', microphoneId || undefined);
		if (got) void refreshDevices();
		else if (got === false) setMicOn(false);
	};

	const pickCamera = async (deviceId: string): Promise<void> => {
		setCameraId(deviceId);
		save('cameraId', deviceId);
		if (!cameraOn) return;
		replaceTrack('video', null);
		await captureInto('video', deviceId);
	};

	const pickMicrophone = async (deviceId: string): Promise<void> => {
		setMicrophoneId(deviceId);
		save('microphoneId', deviceId);
		await captureInto('audio', deviceId, micOn);
	};

	const errors = [...new Map(mediaErrors.map((e) => [e.message, e])).values()];
	const blocked = (device: 'camera' | 'microphone'): boolean =>
		errors.some((e) => e.kind === 'permission-denied' && (e.device === device || e.device === 'camera and microphone'));

	return {
		audioTrack,
		videoTrack,
		micOn,
		cameraOn,
		devices,
		cameraId,
		microphoneId,
		speaker,
		mediaReady,
		errors,
		cameraBlocked: blocked('camera'),
		microphoneBlocked: blocked('microphone'),
		toggleCamera,
		toggleMic,
		pickCamera,
		pickMicrophone,
		pickSpeaker: (deviceId) => {
			setSpeaker(deviceId);
			setSpeakerId(deviceId);
		},
		firstCapture: async (ms) => {
			if (firstCapture.current) await Promise.race([firstCapture.current, new Promise((resolve) => setTimeout(resolve, ms))]);
		},
		live: () => tracks.current,
		takeTracks: () => {
			handedOver.current = true;
			const handed = tracks.current;
			tracks.current = { audio: null, video: null };
			return handed;
		},
	};
}
