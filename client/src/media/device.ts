/**
 * The mediasoup-client Device. Loading one costs a throw-away RTCPeerConnection and an SDP
 * offer (tens of ms; hundreds in a fresh browser), so one loaded Device is shared by every
 * session with the same router capabilities, and the lobby loads it ahead of time from the
 * capabilities in GET /api/info (or those the server sent last time, kept in localStorage).
 */
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';

const CAPABILITIES_KEY = 'parley.routerRtpCapabilities';

let shared: { key: string; promise: Promise<Device> } | null = null;

export function loadDevice(routerRtpCapabilities: msc.RtpCapabilities): Promise<Device> {
	const key = JSON.stringify(routerRtpCapabilities);
	if (shared?.key === key) return shared.promise;
	const promise = (async () => {
		const device = new Device();
		await device.load({ routerRtpCapabilities });
		return device;
	})();
	const entry = { key, promise };
	shared = entry;
	promise.then(
		() => {
			try {
				localStorage.setItem(CAPABILITIES_KEY, key);
			} catch {
				// Storage is only an optimisation.
			}
		},
		() => {
			if (shared === entry) shared = null;
		},
	);
	return promise;
}

/** The Device loaded (or loading) ahead of time, with the capabilities it was loaded from; null if none or it failed. */
export async function preloadedDevice(): Promise<{ key: string; device: Device } | null> {
	const entry = shared;
	if (!entry) return null;
	return entry.promise.then((device) => ({ key: entry.key, device }), () => null);
}

/**
 * Warm-up for the lobby: load the Device with the router capabilities the server gave
 * (GET /api/info), or else with the last known ones (only if nothing is loading yet: the
 * server's are newer).
 */
export function preloadDevice(capabilities?: msc.RtpCapabilities): void {
	if (capabilities) {
		loadDevice(capabilities).catch(() => {});
		return;
	}
	if (shared) return;
	try {
		const saved = localStorage.getItem(CAPABILITIES_KEY);
		if (saved) loadDevice(JSON.parse(saved) as msc.RtpCapabilities).catch(() => {});
	} catch {
		// Nothing saved, or unusable: the session loads the Device itself.
	}
}
