/** Hosts' invitations: the open ones, with Revoke, and a new link to copy. */
import { useCallback, useEffect, useState } from 'react';
import type { InviteInfo } from '../../../signaling/protocol/index.ts';
import { createInvite, listInvites, revokeInvite } from '../lib/api.ts';
import { Dialog } from './Dialog.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';

export function InvitesDialog({ token, onClose, onCopy }: { token: string; onClose: () => void; onCopy: (url: string) => void }) {
	const [invites, setInvites] = useState<InviteInfo[] | null>(null);
	const [error, setError] = useState<string | null>(null);

	const refresh = useCallback(async () => {
		try {
			setInvites((await listInvites(token)).invites);
		} catch (e) {
			setError(e instanceof Error ? e.message : String(e));
		}
	}, [token]);
	useEffect(() => void refresh(), [refresh]);

	const make = async (role: 'participant' | 'host'): Promise<void> => {
		try {
			const created = await createInvite(token, { role });
			onCopy(created.url);
			await refresh();
		} catch (e) {
			setError(e instanceof Error ? e.message : String(e));
		}
	};

	const revoke = async (id: string): Promise<void> => {
		try {
			await revokeInvite(token, id);
			await refresh();
		} catch (e) {
			setError(e instanceof Error ? e.message : String(e));
		}
	};

	return (
		<Dialog title="Invitations" onClose={onClose} testId="invites-dialog">
			<p className="subtle">An invitation link lets anyone who has it join this meeting until it expires or you revoke it.</p>
			<div className="left-actions" style={{ justifyContent: 'flex-start', marginTop: 8 }}>
				<button type="button" className="secondary-button" onClick={() => void make('participant')} data-testid="invite-create">
					Copy a new invitation link
				</button>
				<button type="button" className="secondary-button" onClick={() => void make('host')}>
					…for another host
				</button>
			</div>
			<ErrorAlert error={error} />
			<ul className="invite-list" aria-label="Open invitations">
				{invites?.length === 0 && <li className="subtle">No invitations yet.</li>}
				{invites?.map((i) => (
					<li key={i.id} className="invite-item" data-testid="invite-item" data-revoked={String(i.revoked)}>
						<span>
							{i.role === 'participant' ? 'Participant' : 'Host'} · by {i.createdBy} · until{' '}
							{new Date(i.expiresAt * 1000).toLocaleString()}
						</span>
						{i.revoked ? (
							<span className="subtle">Revoked</span>
						) : (
							<button type="button" className="secondary-button" onClick={() => void revoke(i.id)} data-testid="invite-revoke">
								Revoke
							</button>
						)}
					</li>
				))}
			</ul>
		</Dialog>
	);
}
