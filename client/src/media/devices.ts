/**
 * Camera and microphone access: capture constraints, device lists, and errors that a
 * person can act on.
 */

export interface MediaDeviceOption {
	deviceId: string;
	label: string;
}

export interface DeviceLists {
	cameras: MediaDeviceOption[];
	microphones: MediaDeviceOption[];
	/** Audio outputs (empty where the browser cannot choose one). */
	speakers: MediaDeviceOption[];
}

export type MediaErrorKind = 'permission-denied' | 'not-found' | 'in-use' | 'insecure-context' | 'unknown';

export class MediaAccessError extends Error {
	readonly kind: MediaErrorKind;
	readonly device: 'camera' | 'microphone' | 'camera and microphone';

	constructor(kind: MediaErrorKind, device: MediaAccessError['device'], message: string) {
		super(message);
		this.name = 'MediaAccessError';
		this.kind = kind;
		this.device = device;
	}
}

/** 1280x720 at 30 fps when the camera can do it; the browser picks the closest otherwise. */
export function videoConstraints(deviceId?: string): MediaTrackConstraints {
	return {
		...(deviceId ? { deviceId: { exact: deviceId } } : {}),
		width: { ideal: 1280 },
		height: { ideal: 720 },
		frameRate: { ideal: 30 },
	};
}

export function audioConstraints(deviceId?: string): MediaTrackConstraints {
	return {
		...(deviceId ? { deviceId: { exact: deviceId } } : {}),
		echoCancellation: true,
		noiseSuppression: true,
		autoGainControl: true,
	};
}

export function mediaDevicesAvailable(): boolean {
	return typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
}

function describe(device: MediaAccessError['device'], error: unknown): MediaAccessError {
	const name = error instanceof DOMException || error instanceof Error ? error.name : '';
	const what = device.charAt(0).toUpperCase() + device.slice(1);
	const other = device === 'camera' ? ' You can join with your microphone.' : device === 'microphone' ? ' You can join with your camera.' : ' You can still join to watch and listen.';
	switch (name) {
		case 'NotAllowedError':
		case 'SecurityError':
			return new MediaAccessError(
				'permission-denied',
				device,
				`${what} access was denied. To use ${device === 'camera and microphone' ? 'them' : 'it'}, allow it in the browser's site settings (the icon at the left of the address), then turn it on here.${other}`,
			);
		case 'NotFoundError':
		case 'OverconstrainedError':
			return new MediaAccessError('not-found', device, `No ${device} was found.${other}`);
		case 'NotReadableError':
		case 'AbortError':
			return new MediaAccessError('in-use', device, `The ${device} could not be started; another application may be using it.${other}`);
		default:
			return new MediaAccessError(
				'unknown',
				device,
				`The ${device} could not be started${error instanceof Error && error.message ? `: ${error.message}` : '.'}${other}`,
			);
	}
}

function insecure(device: MediaAccessError['device']): MediaAccessError {
	return new MediaAccessError(
		'insecure-context',
		device,
		'Camera and microphone need a secure page (https or localhost). You can still join to watch and listen.',
	);
}

/** One track of one kind; a missing deviceId (or one that vanished) falls back to the default device. */
export async function getTrack(kind: 'audio' | 'video', deviceId?: string): Promise<MediaStreamTrack> {
	const device = kind === 'audio' ? 'microphone' : 'camera';
	if (!mediaDevicesAvailable()) throw insecure(device);
	const build = (id?: string): MediaStreamConstraints =>
		kind === 'audio' ? { audio: audioConstraints(id) } : { video: videoConstraints(id) };
	let stream: MediaStream;
	try {
		stream = await navigator.mediaDevices.getUserMedia(build(deviceId));
	} catch (error) {
		const name = error instanceof Error ? error.name : '';
		if (!deviceId || (name !== 'OverconstrainedError' && name !== 'NotFoundError')) throw describe(device, error);
		try {
			stream = await navigator.mediaDevices.getUserMedia(build());
		} catch (retryError) {
			throw describe(device, retryError);
		}
	}
	const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
	if (!track) throw new MediaAccessError('not-found', device, `No ${device} was found.`);
	return track;
}

export interface CaptureRequest {
	audio: boolean;
	video: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
}

export interface CaptureResult {
	audio: MediaStreamTrack | null;
	video: MediaStreamTrack | null;
	errors: MediaAccessError[];
}

/** The browser's remembered decision for a device, when it tells ('denied' skips asking). */
async function permissionState(name: 'camera' | 'microphone'): Promise<PermissionState | 'unknown'> {
	try {
		return (await navigator.permissions.query({ name: name as PermissionName })).state;
	} catch {
		return 'unknown';
	}
}

/**
 * Camera and microphone together (one permission prompt); when that fails, each one alone,
 * so that a blocked or missing camera does not also cost the microphone (and the other way
 * round). A device the browser already blocks is not asked for together with the other.
 */
export async function capture(request: CaptureRequest): Promise<CaptureResult> {
	const result: CaptureResult = { audio: null, video: null, errors: [] };
	if (!request.audio && !request.video) return result;
	if (!mediaDevicesAvailable()) {
		result.errors.push(insecure(request.audio && request.video ? 'camera and microphone' : request.audio ? 'microphone' : 'camera'));
		return result;
	}
	if (request.audio && request.video) {
		const [mic, cam] = await Promise.all([permissionState('microphone'), permissionState('camera')]);
		if (mic !== 'denied' && cam !== 'denied') {
			try {
				const stream = await navigator.mediaDevices.getUserMedia({
					audio: audioConstraints(request.audioDeviceId),
					video: videoConstraints(request.videoDeviceId),
				});
				result.audio = stream.getAudioTracks()[0] ?? null;
				result.video = stream.getVideoTracks()[0] ?? null;
				if (result.audio && result.video) return result;
				result.audio?.stop();
				result.video?.stop();
				result.audio = result.video = null;
			} catch {
				// One of them failed (blocked, missing, busy): ask for each alone below to learn which.
			}
		}
	}
	const [audio, video] = await Promise.allSettled([
		request.audio ? getTrack('audio', request.audioDeviceId) : Promise.resolve(null),
		request.video ? getTrack('video', request.videoDeviceId) : Promise.resolve(null),
	]);
	if (audio.status === 'fulfilled') result.audio = audio.value;
	if (video.status === 'fulfilled') result.video = video.value;
	const audioError = audio.status === 'rejected' ? asMediaError(audio.reason, 'microphone') : null;
	const videoError = video.status === 'rejected' ? asMediaError(video.reason, 'camera') : null;
	if (audioError && videoError && audioError.kind === videoError.kind) {
		// Both refused for the same reason: one message.
		result.errors.push(describe('camera and microphone', audio.status === 'rejected' ? errorOf(audioError) : null));
	} else {
		if (audioError) result.errors.push(audioError);
		if (videoError) result.errors.push(videoError);
	}
	return result;
}

/** A DOMException-like stand-in carrying the name describe() switches on. */
function errorOf(error: MediaAccessError): Error {
	const names: Record<MediaErrorKind, string> = {
		'permission-denied': 'NotAllowedError',
		'not-found': 'NotFoundError',
		'in-use': 'NotReadableError',
		'insecure-context': 'SecurityError',
		unknown: 'Error',
	};
	const e = new Error('');
	e.name = names[error.kind];
	return e;
}

function asMediaError(error: unknown, device: MediaAccessError['device']): MediaAccessError {
	return error instanceof MediaAccessError ? error : describe(device, error);
}

/** Device lists; labels are only filled in once the page has had permission. */
export async function listDevices(): Promise<DeviceLists> {
	if (!mediaDevicesAvailable()) return { cameras: [], microphones: [], speakers: [] };
	const devices = await navigator.mediaDevices.enumerateDevices();
	const pick = (kind: MediaDeviceKind, fallback: string): MediaDeviceOption[] =>
		devices
			.filter((d) => d.kind === kind && d.deviceId !== '')
			.map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
	return {
		cameras: pick('videoinput', 'Camera'),
		microphones: pick('audioinput', 'Microphone'),
		speakers: 'setSinkId' in HTMLMediaElement.prototype ? pick('audiooutput', 'Speaker') : [],
	};
}

/** Which device a track comes from (kept while it is live: an ended track may no longer say). */
export interface TrackDevice {
	deviceId: string;
	groupId: string;
	label: string;
}

export function describeTrack(track: MediaStreamTrack): TrackDevice {
	const { deviceId = '', groupId = '' } = track.getSettings();
	return { deviceId, groupId, label: track.label };
}

/**
 * Another device of a kind than the one that went away (not the same physical device under
 * another entry, such as "default"); null when there is none in the list.
 */
export async function otherDevice(kind: 'audioinput' | 'videoinput', lost: TrackDevice): Promise<MediaDeviceOption | null> {
	if (!mediaDevicesAvailable()) return null;
	const devices = await navigator.mediaDevices.enumerateDevices();
	const candidates = devices.filter((d) => d.kind === kind && d.deviceId !== '' && d.deviceId !== lost.deviceId);
	const other = candidates.find((d) => !lost.groupId || d.groupId !== lost.groupId) ?? candidates[0];
	return other ? { deviceId: other.deviceId, label: other.label } : null;
}

export function onDeviceChange(listener: () => void): () => void {
	if (!mediaDevicesAvailable()) return () => {};
	navigator.mediaDevices.addEventListener('devicechange', listener);
	return () => navigator.mediaDevices.removeEventListener('devicechange', listener);
}

export function stopTrack(track: MediaStreamTrack | null | undefined): void {
	if (track && track.readyState !== 'ended') track.stop();
}

/**
 * A screen, window or tab to share (the browser shows its picker; needs a user gesture).
 * Marked as detailed content, so the encoder keeps text sharp rather than motion smooth.
 */
export async function getDisplayTrack(): Promise<MediaStreamTrack> {
	if (typeof navigator === 'undefined' || !navigator.mediaDevices?.getDisplayMedia) {
		throw new MediaAccessError('not-found', 'camera', 'This browser cannot share the screen.');
	}
	const stream = await navigator.mediaDevices.getDisplayMedia({
		video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } },
		audio: false,
	});
	const track = stream.getVideoTracks()[0];
	if (!track) throw new MediaAccessError('not-found', 'camera', 'Nothing was shared.');
	track.contentHint = 'detail';
	return track;
}
