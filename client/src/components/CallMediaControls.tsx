/** Control-bar buttons for screen sharing, the stage layout and the stats panel. */
import type { LocalMedia, RoomStatus } from '../media/RoomClient.ts';
import { GridIcon, ScreenShareIcon, ScreenShareOffIcon, SpeakerLayoutIcon, StatsIcon } from './Icons.tsx';
import type { StageMode } from './Stage.tsx';

export interface CallMediaControlsProps {
	local: LocalMedia;
	status: RoomStatus;
	onToggleScreen: () => void;
	mode: StageMode;
	onToggleMode: () => void;
	statsOpen: boolean;
	onToggleStats: () => void;
}

export function canShareScreen(): boolean {
	return typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getDisplayMedia;
}

export function CallMediaControls({ local, status, onToggleScreen, mode, onToggleMode, statsOpen, onToggleStats }: CallMediaControlsProps) {
	const sharing = local.screenOn;
	return (
		<>
			{canShareScreen() && (
				<button
					type="button"
					className={`control${sharing ? ' active' : ''}`}
					onClick={onToggleScreen}
					disabled={local.screenBusy || status === 'closed'}
					aria-pressed={sharing}
					aria-label={sharing ? 'Stop share (stop sharing your screen)' : 'Share screen'}
					title={sharing ? 'Stop sharing your screen' : 'Share your screen'}
					data-testid="toggle-screen"
					data-state={sharing ? 'on' : 'off'}
				>
					{sharing ? <ScreenShareOffIcon /> : <ScreenShareIcon />}
					<span className="control-label">{sharing ? 'Stop share' : 'Share screen'}</span>
				</button>
			)}
			<button
				type="button"
				className="control"
				onClick={onToggleMode}
				aria-label={mode === 'grid' ? 'Switch to the speaker layout' : 'Switch to the grid layout'}
				title={mode === 'grid' ? 'Speaker layout' : 'Grid layout'}
				data-testid="toggle-layout"
				data-layout={mode}
			>
				{mode === 'grid' ? <SpeakerLayoutIcon /> : <GridIcon />}
				<span className="control-label">{mode === 'grid' ? 'Speaker' : 'Grid'}</span>
			</button>
			<button
				type="button"
				className={`control${statsOpen ? ' active' : ''}`}
				onClick={onToggleStats}
				aria-pressed={statsOpen}
				aria-label={statsOpen ? 'Stats: hide connection statistics' : 'Stats: show connection statistics'}
				title="Connection statistics"
				data-testid="toggle-stats"
			>
				<StatsIcon />
				<span className="control-label">Stats</span>
			</button>
		</>
	);
}
