/**
 * The chosen speaker (audio output), for every remote <audio> element: kept in
 * localStorage, applied with HTMLMediaElement.setSinkId where the browser has it.
 */
const KEY = 'parley.speakerId';
type Listener = (deviceId: string) => void;
const listeners = new Set<Listener>();

export function canChooseSpeaker(): boolean {
	return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

export function speakerId(): string {
	try {
		return window.localStorage.getItem(KEY) ?? '';
	} catch {
		return '';
	}
}

export function setSpeakerId(deviceId: string): void {
	try {
		window.localStorage.setItem(KEY, deviceId);
	} catch {
		// Not kept, still applied.
	}
	for (const listener of listeners) listener(deviceId);
}

export function onSpeakerChange(listener: Listener): () => void {
	listeners.add(listener);
	return () => listeners.delete(listener);
}

/** Route an element to the chosen speaker ('' = the system default); a vanished device falls back to the default. */
export async function applySpeaker(element: HTMLMediaElement, deviceId = speakerId()): Promise<void> {
	if (!canChooseSpeaker()) return;
	const sink = element as HTMLMediaElement & { setSinkId(id: string): Promise<void>; sinkId: string };
	if (sink.sinkId === deviceId) return;
	try {
		await sink.setSinkId(deviceId);
	} catch {
		if (deviceId) await sink.setSinkId('').catch(() => {});
	}
}
