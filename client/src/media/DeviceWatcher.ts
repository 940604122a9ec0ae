/**
 * The camera, microphone and speaker lists during a call, kept current as devices are
 * plugged in and out (`devicechange`), for the in-call pickers.
 */
import { listDevices, onDeviceChange, type DeviceLists } from './devices.ts';

const EMPTY: DeviceLists = { cameras: [], microphones: [], speakers: [] };

export class DeviceWatcher {
	readonly #changed: () => void;
	#lists: DeviceLists = EMPTY;
	#unsubscribe: (() => void) | null = null;
	#refreshing: Promise<void> | null = null;
	#again = false;
	#closed = false;

	constructor(changed: () => void) {
		this.#changed = changed;
	}

	get lists(): DeviceLists {
		return this.#lists;
	}

	start(): void {
		if (this.#unsubscribe || this.#closed) return;
		this.#unsubscribe = onDeviceChange(() => void this.refresh());
		void this.refresh();
	}

	/** Read the lists again (coalesced: one read at a time, one more if asked meanwhile). */
	refresh(): Promise<void> {
		if (this.#refreshing) {
			this.#again = true;
			return this.#refreshing;
		}
		this.#refreshing = (async () => {
			do {
				this.#again = false;
				try {
					const lists = await listDevices();
					if (this.#closed) return;
					if (JSON.stringify(lists) !== JSON.stringify(this.#lists)) {
						this.#lists = lists;
						this.#changed();
					}
				} catch {
					// The lists are a convenience; the devices in use keep working.
				}
			} while (this.#again && !this.#closed);
		})().finally(() => {
			this.#refreshing = null;
		});
		return this.#refreshing;
	}

	close(): void {
		this.#closed = true;
		this.#unsubscribe?.();
		this.#unsubscribe = null;
	}
}
