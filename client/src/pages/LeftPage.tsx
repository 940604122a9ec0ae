/** After Leave: where the person is, and the way back in (Rejoin) or to the lobby. */
import { useState } from 'react';
import { ErrorAlert } from '../components/ErrorAlert.tsx';

export interface LeftPageProps {
	room: string;
	onRejoin: () => Promise<void>;
	onLobby: () => void;
}

export function LeftPage({ room, onRejoin, onLobby }: LeftPageProps) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);

	const rejoin = async (): Promise<void> => {
		setBusy(true);
		setError(null);
		try {
			await onRejoin();
		} catch (e) {
			setError(e instanceof Error ? e.message : String(e));
			setBusy(false);
		}
	};

	return (
		<div className="lobby left-page" data-testid="left-page">
			<header className="brand">
				<span className="brand-mark" aria-hidden="true" />
				<span className="brand-name">Parley</span>
			</header>
			<main className="left-main">
				<h1>You left the meeting</h1>
				<p className="subtle">
					<strong>{room}</strong> goes on without you. You can come back while it lasts.
				</p>
				<div className="left-actions">
					<button type="button" className="primary-button" onClick={() => void rejoin()} disabled={busy} data-testid="rejoin" autoFocus>
						{busy ? 'Rejoining…' : 'Rejoin'}
					</button>
					<button type="button" className="secondary-button" onClick={onLobby} data-testid="back-to-lobby">
						Back to the lobby
					</button>
				</div>
				<ErrorAlert error={error} />
			</main>
		</div>
	);
}
