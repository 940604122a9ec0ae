/** Hosts' recordings of this meeting: each recording's files and its composed file, to download. */
import { useEffect, useState } from 'react';
import type { RecordingInfo } from '../../../signaling/protocol/index.ts';
import { listRecordings } from '../lib/api.ts';
import { Dialog } from './Dialog.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';

export function RecordingsDialog({ token, room, onClose }: { token: string; room: string; onClose: () => void }) {
	const [recordings, setRecordings] = useState<RecordingInfo[] | null>(null);
	const [error, setError] = useState<string | null>(null);

	useEffect(() => {
		let cancelled = false;
		const load = (): void => {
			listRecordings(room, token).then(
				(r) => !cancelled && setRecordings(r.recordings),
				(e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)),
			);
		};
		load();
		// The composed file is made in the background: follow its progress.
		const timer = setInterval(load, 3000);
		return () => {
			cancelled = true;
			clearInterval(timer);
		};
	}, [room, token]);

	const href = (r: RecordingInfo, file: string): string =>
		`/api/rooms/${encodeURIComponent(room)}/recordings/${encodeURIComponent(r.id)}/${encodeURIComponent(file)}?token=${encodeURIComponent(token)}`;

	return (
		<Dialog title="Recordings" onClose={onClose} testId="recordings-dialog">
			<ErrorAlert error={error} />
			<ul className="invite-list" aria-label="Recordings of this meeting">
				{recordings?.length === 0 && <li className="subtle">No recordings yet.</li>}
				{recordings?.map((r) => (
					<li key={r.id} className="recording-item" data-testid="recording-item">
						<strong>
							{new Date(r.startedAt).toLocaleString()}
							{r.endedAt === null ? ' · recording…' : ` · ${Math.round((r.endedAt - r.startedAt) / 1000)} s`}
						</strong>
						{r.composed && (
							<div data-testid="recording-composed" data-state={r.composed.state}>
								{r.composed.state === 'ready' ? (
									<a href={href(r, r.composed.file ?? 'composed.mp4')} download data-testid="recording-download-composed">
										Download the meeting (MP4)
									</a>
								) : r.composed.state === 'failed' ? (
									<span className="subtle">The composed file could not be made.</span>
								) : (
									<span className="subtle">Making the composed file… {Math.round(r.composed.progress * 100)} %</span>
								)}
							</div>
						)}
						<ul className="recording-files">
							{r.files.map((f) => (
								<li key={f.file}>
									<a href={href(r, f.file)} download data-testid="recording-file">
										{f.name} · {f.source} · {Math.round((f.endedAt - f.startedAt) / 1000)} s
									</a>
								</li>
							))}
						</ul>
					</li>
				))}
			</ul>
		</Dialog>
	);
}
