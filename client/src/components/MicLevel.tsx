import { useEffect, useRef } from 'react';
import { subscribeAudioLevel } from '../media/audioLevels.ts';

/**
 * A small live input-level bar for a microphone track, updated outside React. It uses the
 * call page's shared AudioContext (audioLevels.ts): created here in the lobby, it is still
 * there when the call page's meters start, so Join does not pay for a new one (40-340 ms of
 * the page's thread on a loaded machine, measured in e2e/join-timing.spec.ts).
 */
export function MicLevel({ track }: { track: MediaStreamTrack | null }) {
	const barRef = useRef<HTMLDivElement>(null);

	useEffect(() => {
		const bar = barRef.current;
		if (!track || !bar) return;
		const unsubscribe = subscribeAudioLevel(track, (level) => {
			bar.style.transform = `scaleX(${level.toFixed(3)})`;
		});
		return () => {
			unsubscribe();
			bar.style.transform = 'scaleX(0)';
		};
	}, [track]);

	return (
		<div className="mic-level" aria-hidden="true">
			<div className="mic-level-bar" ref={barRef} />
		</div>
	);
}
