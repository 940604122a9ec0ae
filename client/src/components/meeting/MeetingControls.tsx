/** Control-bar buttons for the meeting: raise/lower hand, reactions, the participants panel. */
import { useState } from 'react';
import { REACTIONS, type Reaction } from '../../../../signaling/protocol/index.ts';
import type { MeetingClient, MeetingSnapshot } from '../../meeting/MeetingClient.ts';
import { UsersIcon } from '../Icons.tsx';

export interface MeetingControlsProps {
	meeting: MeetingClient;
	snapshot: MeetingSnapshot;
	selfId: string | null;
	panelOpen: boolean;
	onTogglePanel: () => void;
}

export function MeetingControls({ meeting, snapshot, selfId, panelOpen, onTogglePanel }: MeetingControlsProps) {
	const [picking, setPicking] = useState(false);
	const raised = selfId !== null && snapshot.state.hands.some((h) => h.identity === selfId);
	const waitingCount = snapshot.role !== 'participant' ? snapshot.waiting.length : 0;
	const ignore = (): void => {};
	const send = (emoji: Reaction): void => {
		setPicking(false);
		meeting.react(emoji).catch(ignore);
	};
	return (
		<>
			<button
				type="button"
				className={`control${raised ? ' active' : ''}`}
				onClick={() => (raised ? meeting.lowerHand() : meeting.raiseHand()).catch(ignore)}
				aria-pressed={raised}
				aria-label={raised ? 'Lower hand' : 'Raise hand'}
				title={raised ? 'Lower your hand' : 'Raise your hand'}
				data-testid="toggle-hand"
				data-state={raised ? 'raised' : 'down'}
			>
				<span className="control-emoji" aria-hidden="true">
					✋
				</span>
				<span className="control-label">{raised ? 'Lower hand' : 'Raise hand'}</span>
			</button>
			<div className="reaction-picker-wrap">
				<button
					type="button"
					className={`control${picking ? ' active' : ''}`}
					onClick={(e) => {
						// Inside the phone's More panel, a click there closes the panel: keep it open for the picker.
						e.stopPropagation();
						setPicking((p) => !p);
					}}
					aria-expanded={picking}
					aria-haspopup="true"
					aria-label="React: send a reaction"
					title="Send a reaction"
					data-testid="reactions"
				>
					<span className="control-emoji" aria-hidden="true">
						😊
					</span>
					<span className="control-label">React</span>
				</button>
				{picking && (
					<div
						className="reaction-picker"
						role="group"
						aria-label="Reactions"
						onKeyDown={(e) => {
							if (e.key === 'Escape') setPicking(false);
						}}
					>
						{REACTIONS.map((emoji) => (
							<button key={emoji} type="button" className="reaction-option" onClick={() => send(emoji)} aria-label={`React with ${emoji}`} data-testid="reaction-option">
								{emoji}
							</button>
						))}
					</div>
				)}
			</div>
			<button
				type="button"
				className={`control${panelOpen ? ' active' : ''}`}
				onClick={onTogglePanel}
				aria-pressed={panelOpen}
				aria-label={waitingCount ? `People: participants (${waitingCount} waiting)` : 'People: participants'}
				title="Participants"
				data-testid="toggle-participants"
			>
				<UsersIcon />
				{waitingCount > 0 && (
					<span className="control-badge" data-testid="waiting-badge">
						{waitingCount}
					</span>
				)}
				<span className="control-label">People</span>
			</button>
		</>
	);
}
