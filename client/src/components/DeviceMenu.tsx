/**
 * Device choice during the call: the small arrow beside the microphone and camera buttons
 * opens their device lists (and the speaker, and the background effect), as in Meet or
 * Jitsi; on phones the same choices open from More as a dialog. A device plugged in shows
 * up at once (the lists follow `devicechange`); a choice is remembered for the next visit.
 */
import { useEffect, useId, useRef, useState, useSyncExternalStore } from 'react';
import type { DeviceLists, MediaDeviceOption } from '../media/devices.ts';
import type { LocalMedia, RoomClient } from '../media/RoomClient.ts';
import { onSpeakerChange, setSpeakerId, speakerId } from '../media/speaker.ts';
import { BackgroundPicker } from './BackgroundPicker.tsx';
import { Dialog } from './Dialog.tsx';
import { ChevronUpIcon } from './Icons.tsx';

export type DeviceGroup = 'microphone' | 'camera' | 'all';

function useSpeaker(): string {
	return useSyncExternalStore(onSpeakerChange, speakerId);
}

function DeviceSelect({
	label,
	value,
	options,
	onChange,
	testId,
	none,
}: {
	label: string;
	value: string;
	options: readonly MediaDeviceOption[];
	onChange: (deviceId: string) => void;
	testId: string;
	none: string;
}) {
	const known = options.some((o) => o.deviceId === value);
	return (
		<label className="field">
			<span className="field-label">{label}</span>
			<select value={known ? value : ''} onChange={(e) => onChange(e.target.value)} disabled={options.length === 0} data-testid={testId}>
				{!known && <option value="">{options.length === 0 ? none : 'Default'}</option>}
				{options.map((o) => (
					<option key={o.deviceId} value={o.deviceId}>
						{o.label}
					</option>
				))}
			</select>
		</label>
	);
}

/** The pickers of one group (or all of them). */
export function DeviceSettings({ client, local, devices, group }: { client: RoomClient; local: LocalMedia; devices: DeviceLists; group: DeviceGroup }) {
	const speaker = useSpeaker();
	const speakers = devices.speakers;
	return (
		<div className="device-settings">
			{group !== 'camera' && (
				<DeviceSelect
					label="Microphone"
					value={local.microphoneId ?? ''}
					options={devices.microphones}
					onChange={(id) => void client.selectDevice('microphone', id)}
					testId="call-mic-select"
					none="No microphone found"
				/>
			)}
			{group !== 'camera' && speakers.length > 0 && (
				<DeviceSelect
					label="Speaker"
					value={speakers.some((d) => d.deviceId === speaker) ? speaker : speakers.some((d) => d.deviceId === 'default') ? 'default' : ''}
					options={speakers}
					onChange={(id) => setSpeakerId(id === 'default' ? '' : id)}
					testId="call-speaker-select"
					none="System default"
				/>
			)}
			{group !== 'microphone' && (
				<DeviceSelect
					label="Camera"
					value={local.cameraId ?? ''}
					options={devices.cameras}
					onChange={(id) => void client.selectDevice('camera', id)}
					testId="call-camera-select"
					none="No camera found"
				/>
			)}
			{group !== 'microphone' && (
				<BackgroundPicker value={local.background} onChange={(mode) => void client.setBackground(mode)} testId="call-background-select" />
			)}
		</div>
	);
}

/** The arrow beside the microphone or camera button and its popover (Esc or a click outside closes it). */
export function DeviceMenu({ client, local, devices, group }: { client: RoomClient; local: LocalMedia; devices: DeviceLists; group: 'microphone' | 'camera' }) {
	const [open, setOpen] = useState(false);
	const id = useId();
	const root = useRef<HTMLDivElement>(null);
	const button = useRef<HTMLButtonElement>(null);
	useEffect(() => {
		if (!open) return;
		const onPointer = (event: PointerEvent): void => {
			if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
		};
		document.addEventListener('pointerdown', onPointer);
		return () => document.removeEventListener('pointerdown', onPointer);
	}, [open]);
	const what = group === 'microphone' ? 'Microphone and speaker' : 'Camera';
	return (
		<div
			ref={root}
			className="device-menu"
			onKeyDown={(e) => {
				if (e.key === 'Escape' && open) {
					e.preventDefault();
					e.stopPropagation();
					setOpen(false);
					button.current?.focus();
				}
			}}
		>
			<button
				ref={button}
				type="button"
				className={`control-caret${open ? ' active' : ''}`}
				aria-expanded={open}
				aria-controls={id}
				aria-label={`${what} settings`}
				title={`${what} settings`}
				onClick={() => setOpen((o) => !o)}
				data-testid={`${group}-menu`}
			>
				<ChevronUpIcon width={16} height={16} />
			</button>
			{open && (
				<div id={id} className="device-popover" role="group" aria-label={`${what} settings`} data-testid={`${group}-menu-panel`}>
					<DeviceSettings client={client} local={local} devices={devices} group={group} />
				</div>
			)}
		</div>
	);
}

export function DeviceDialog({ client, local, devices, onClose }: { client: RoomClient; local: LocalMedia; devices: DeviceLists; onClose: () => void }) {
	return (
		<Dialog title="Devices" onClose={onClose} testId="devices-dialog">
			<DeviceSettings client={client} local={local} devices={devices} group="all" />
		</Dialog>
	);
}
