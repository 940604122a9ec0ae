/** Everyone in the room with a presence dot: online, away, reconnecting, left (with when they were last seen). */
import { useEffect, useState } from 'react';
import type { Presence } from '../../../../signaling/protocol/index.ts';
import { formatAgo, formatDateTime } from '../../chat/format.ts';
import { ChatIcon } from './icons.tsx';

const STATE_LABEL: Record<Presence['state'], string> = {
	online: 'Online',
	away: 'Away',
	reconnecting: 'Reconnecting…',
	left: 'Left',
};

export interface ParticipantsListProps {
	people: readonly Presence[];
	identity: string;
	/** The server's presence snapshot arrived on this connection (else the call's participants stand in). */
	synced: boolean;
	onDirectMessage: (identity: string) => void;
}

export function ParticipantsList({ people, identity, synced, onDirectMessage }: ParticipantsListProps) {
	// "last seen 3 min ago" moves on by itself.
	const [now, setNow] = useState(() => Date.now());
	useEffect(() => {
		const timer = setInterval(() => setNow(Date.now()), 30_000);
		return () => clearInterval(timer);
	}, []);

	return (
		<ul className="chat-people" data-testid="participants" data-synced={synced} aria-label="Participants">
			{people.map((p) => {
				const self = p.identity === identity;
				const status = p.state === 'left' ? `Left · last seen ${formatAgo(p.lastSeen, now)}` : STATE_LABEL[p.state];
				return (
					<li
						key={p.identity}
						className={`chat-person ${p.state}`}
						data-testid="participant"
						data-identity={p.identity}
						data-name={p.name}
						data-presence={p.state}
						{...(self ? { 'data-self': 'true' } : {})}
					>
						<span className={`presence-dot ${p.state}`} role="img" aria-label={STATE_LABEL[p.state]} title={STATE_LABEL[p.state]} />
						<span className="chat-person-text">
							<span className="chat-person-name">
								{p.name || p.identity}
								{self && <span className="chat-person-you"> (you)</span>}
							</span>
							<span className="chat-person-status" title={`Last seen ${formatDateTime(p.lastSeen)}`}>
								{status}
							</span>
						</span>
						{!self && p.state !== 'left' && (
							<button
								type="button"
								className="chat-icon-button"
								onClick={() => onDirectMessage(p.identity)}
								aria-label={`Send ${p.name} a direct message`}
								title={`Direct message to ${p.name}`}
							>
								<ChatIcon width={18} height={18} />
							</button>
						)}
					</li>
				);
			})}
		</ul>
	);
}
