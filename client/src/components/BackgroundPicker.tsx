/**
 * The camera background choice (none, blur, a picture), in the lobby and in the call's
 * camera settings. "Picture" uses a built-in background until the person chooses an image
 * file (kept for this tab only; it never leaves the browser except as the camera video).
 */
import { useId, useState } from 'react';
import { BACKGROUND_MODES, describeBackgroundMode, type BackgroundMode } from '../media/background/background.ts';
import { setBackgroundPicture } from '../media/background/picture.ts';

export function BackgroundPicker({
	value,
	onChange,
	testId,
	disabled = false,
}: {
	value: BackgroundMode;
	onChange: (mode: BackgroundMode) => void;
	testId: string;
	disabled?: boolean;
}) {
	const fileId = useId();
	const [pictureError, setPictureError] = useState<string | null>(null);
	return (
		<div className="background-picker">
			<label className="field">
				<span className="field-label">Background</span>
				<select
					value={value}
					onChange={(e) => onChange(BACKGROUND_MODES.find((m) => m === e.target.value) ?? 'none')}
					disabled={disabled}
					data-testid={testId}
				>
					{BACKGROUND_MODES.map((m) => (
						<option key={m} value={m}>
							{describeBackgroundMode(m)}
						</option>
					))}
				</select>
			</label>
			{value === 'image' && (
				<div className="field">
					<label className="field-label" htmlFor={fileId}>
						Your picture (optional)
					</label>
					<input
						id={fileId}
						type="file"
						accept="image/*"
						data-testid={`${testId}-file`}
						onChange={(e) => {
							const file = e.target.files?.[0];
							if (!file) return;
							setPictureError(null);
							setBackgroundPicture(file).catch(() => setPictureError('This file is not a picture this browser can show.'));
						}}
					/>
					{pictureError && <span className="field-error">{pictureError}</span>}
				</div>
			)}
		</div>
	);
}
