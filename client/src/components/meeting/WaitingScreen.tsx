/** Shown while a host has not let this person in yet: their own preview and a way out. */
import { useEffect, useRef } from 'react';

export interface WaitingScreenProps {
	room: string;
	videoTrack: MediaStreamTrack | null;
	/** The meeting is being recorded (consent: said before a host lets them in). */
	recording: boolean;
	onLeave: () => void;
}

export function WaitingScreen({ room, videoTrack, recording, onLeave }: WaitingScreenProps) {
	const video = useRef<HTMLVideoElement>(null);
	useEffect(() => {
		const el = video.current;
		if (!el) return;
		el.srcObject = videoTrack ? new MediaStream([videoTrack]) : null;
	}, [videoTrack]);
	return (
		<div className="waiting-screen" data-testid="waiting-screen" role="status" aria-live="polite">
			<div className="waiting-card">
				{videoTrack ? (
					<video ref={video} className="waiting-preview" autoPlay muted playsInline aria-label="Your camera preview" />
				) : (
					<div className="waiting-preview waiting-preview-off">Camera off</div>
				)}
				<h1 className="waiting-title">Waiting for a host to let you in</h1>
				<p className="waiting-text">
					You asked to join <strong>{room}</strong>. A host has been told you are here.
				</p>
				{recording && (
					<p className="waiting-recording" data-testid="waiting-recording">
						<span className="recording-dot" aria-hidden="true" /> This meeting is being recorded.
					</p>
				)}
				<button type="button" className="secondary-button" onClick={onLeave} data-testid="waiting-leave">
					Leave
				</button>
			</div>
		</div>
	);
}
