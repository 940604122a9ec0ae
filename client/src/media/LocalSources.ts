/**
 * This participant's own media in the room client: the microphone, camera and screen
 * Publishers, the device lists for the in-call pickers, and their part of the snapshot.
 * (The camera's background effect stays with RoomClient: it starts once the store exists.)
 */
import { save } from '../lib/storage.ts';
import type { BackgroundMode } from './background/background.ts';
import { DeviceWatcher } from './DeviceWatcher.ts';
import { Publisher } from './Publisher.ts';
import type { PublisherContext } from './publisherTypes.ts';
import { camera, microphone, screen, type SourceContext } from './sources.ts';
import type { LocalMedia, LocalProducer, RoomClientOptions } from './types.ts';

export class LocalSources {
	readonly mic: Publisher;
	readonly camera: Publisher;
	readonly screen: Publisher;
	readonly devices: DeviceWatcher;

	/** `videoCodec`: the room's video codec preference (null before joining); `changed`: the device lists changed. */
	constructor(options: RoomClientOptions, ctx: PublisherContext, videoCodec: () => 'vp8' | 'vp9' | null, changed: () => void) {
		const sources: SourceContext = {
			device: () => ctx.transports.device,
			videoCodec,
		};
		this.mic = new Publisher(microphone(), ctx, options.audioTrack, options.micOn, options.audioDeviceId);
		this.camera = new Publisher(camera(sources), ctx, options.videoTrack, options.cameraOn, options.videoDeviceId);
		this.devices = new DeviceWatcher(changed);
		this.screen = new Publisher(screen(sources), ctx, null, false);
	}

	/** Microphone, camera and screen (a new array each time). */
	get publishers(): Publisher[] {
		return [this.mic, this.camera, this.screen];
	}

	producers(): LocalProducer[] {
		return [this.mic.producer, this.camera.producer, this.screen.producer].filter((p): p is LocalProducer => p !== null);
	}

	videoProducers(): LocalProducer[] {
		return [this.camera.producer, this.screen.producer].filter((p): p is LocalProducer => p !== null);
	}

	/** Switch the microphone or camera (see RoomClient.selectDevice), then read the device lists again. */
	async selectDevice(kind: 'microphone' | 'camera', deviceId: string): Promise<void> {
		save(kind === 'microphone' ? 'microphoneId' : 'cameraId', deviceId);
		await (kind === 'microphone' ? this.mic : this.camera).switchDevice(deviceId);
		void this.devices.refresh();
	}

	/** The snapshot's `local`, with the camera's background mode. */
	snapshot(background: BackgroundMode): LocalMedia {
		return {
			audioTrack: this.mic.track,
			videoTrack: this.camera.track,
			micOn: this.mic.on,
			cameraOn: this.camera.on,
			micBusy: this.mic.busy,
			cameraBusy: this.camera.busy,
			screenTrack: this.screen.track,
			screenOn: !!this.screen.track,
			screenBusy: this.screen.busy,
			microphoneId: this.mic.deviceId ?? null,
			cameraId: this.camera.deviceId ?? null,
			background,
		};
	}
}
