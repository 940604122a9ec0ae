/** The lobby's camera, microphone and speaker lists (blocked or missing devices say so). */
import type { DeviceLists } from '../media/devices.ts';

export interface LobbyDevicePickersProps {
	devices: DeviceLists;
	cameraId: string;
	microphoneId: string;
	speaker: string;
	cameraBlocked: boolean;
	microphoneBlocked: boolean;
	/** The first capture is done (before: "Looking for…"). */
	mediaReady: boolean;
	onPickCamera(deviceId: string): void;
	onPickMicrophone(deviceId: string): void;
	onPickSpeaker(deviceId: string): void;
}

export function LobbyDevicePickers({
	devices,
	cameraId,
	microphoneId,
	speaker,
	cameraBlocked,
	microphoneBlocked,
	mediaReady,
	onPickCamera,
	onPickMicrophone,
	onPickSpeaker,
}: LobbyDevicePickersProps) {
	return (
		<div className="device-pickers">
			<label className="field">
				<span className="field-label">Camera</span>
				<select
					value={cameraId}
					onChange={(e) => onPickCamera(e.target.value)}
					disabled={devices.cameras.length === 0 || cameraBlocked}
					data-testid="camera-select"
				>
					{(devices.cameras.length === 0 || cameraBlocked) && (
						<option value="">{cameraBlocked ? 'Camera blocked' : !mediaReady ? 'Looking for cameras…' : 'No camera found'}</option>
					)}
					{!cameraBlocked && devices.cameras.map((d) => (
						<option key={d.deviceId} value={d.deviceId}>
							{d.label}
						</option>
					))}
				</select>
			</label>
			<label className="field">
				<span className="field-label">Microphone</span>
				<select
					value={microphoneId}
					onChange={(e) => onPickMicrophone(e.target.value)}
					disabled={devices.microphones.length === 0 || microphoneBlocked}
					data-testid="mic-select"
				>
					{(devices.microphones.length === 0 || microphoneBlocked) && (
						<option value="">{microphoneBlocked ? 'Microphone blocked' : !mediaReady ? 'Looking for microphones…' : 'No microphone found'}</option>
					)}
					{!microphoneBlocked && devices.microphones.map((d) => (
						<option key={d.deviceId} value={d.deviceId}>
							{d.label}
						</option>
					))}
				</select>
			</label>
			{devices.speakers.length > 0 && (
				<label className="field">
					<span className="field-label">Speaker</span>
					<select
						value={devices.speakers.some((d) => d.deviceId === speaker) ? speaker : ''}
						onChange={(e) => onPickSpeaker(e.target.value)}
						data-testid="speaker-select"
					>
						{!devices.speakers.some((d) => d.deviceId === 'default') && <option value="">System default</option>}
						{devices.speakers.map((d) => (
							<option key={d.deviceId} value={d.deviceId === 'default' ? '' : d.deviceId}>
								{d.label}
							</option>
						))}
					</select>
				</label>
			)}
		</div>
	);
}
