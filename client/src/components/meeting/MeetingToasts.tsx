/** Join/leave notices and what hosts did (muted you, ask you to unmute), for a few seconds. */
import type { MeetingClient, MeetingSnapshot } from '../../meeting/MeetingClient.ts';

export interface MeetingToastsProps {
	meeting: MeetingClient;
	snapshot: MeetingSnapshot;
	onUnmute: () => void;
}

export function MeetingToasts({ meeting, snapshot, onUnmute }: MeetingToastsProps) {
	return (
		<>
			{snapshot.toasts.map((t) => (
				<div key={t.id} className={`banner banner-${t.kind}`} role="status" data-testid="meeting-toast">
					<span className="banner-text">{t.text}</span>
					{t.action === 'unmute' && (
						<button
							type="button"
							className="secondary-button"
							onClick={() => {
								meeting.dismissToast(t.id);
								onUnmute();
							}}
						>
							Unmute
						</button>
					)}
					<button type="button" className="banner-close" onClick={() => meeting.dismissToast(t.id)} aria-label="Dismiss">
						×
					</button>
				</div>
			))}
		</>
	);
}
