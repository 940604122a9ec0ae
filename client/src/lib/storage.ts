/** Small preferences kept in localStorage (missing or blocked storage is not an error). */
const PREFIX = 'parley.';

export function load(key: 'displayName' | 'cameraId' | 'microphoneId' | 'cameraOn' | 'micOn' | 'background'): string | null {
	try {
		return window.localStorage.getItem(PREFIX + key);
	} catch {
		return null;
	}
}

export function save(key: 'displayName' | 'cameraId' | 'microphoneId' | 'cameraOn' | 'micOn' | 'background', value: string): void {
	try {
		window.localStorage.setItem(PREFIX + key, value);
	} catch {
		// Private mode or storage disabled.
	}
}
