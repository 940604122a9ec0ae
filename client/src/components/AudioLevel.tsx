import { memo, useEffect, useRef } from 'react';
import { subscribeAudioLevel } from '../media/audioLevels.ts';

/** Above this level the tile counts as speaking (data-speaking, for styling and tests). */
const SPEAKING_LEVEL = 0.25;

/**
 * A three-bar level meter for an audio track, updated outside React (a CSS variable), with
 * `data-speaking` while the level is high.
 */
export const AudioLevel = memo(function AudioLevel({ track, muted }: { track: MediaStreamTrack | null; muted: boolean }) {
	const ref = useRef<HTMLSpanElement>(null);

	useEffect(() => {
		const element = ref.current;
		if (!element || !track || muted) return;
		let speaking = false;
		const unsubscribe = subscribeAudioLevel(track, (level) => {
			element.style.setProperty('--level', level.toFixed(2));
			const now = level > SPEAKING_LEVEL;
			if (now !== speaking) {
				speaking = now;
				element.dataset.speaking = String(now);
			}
		});
		return () => {
			unsubscribe();
			element.style.setProperty('--level', '0');
			element.dataset.speaking = 'false';
		};
	}, [track, muted]);

	return (
		<span className="audio-level" ref={ref} data-testid="audio-level" data-speaking="false" aria-hidden="true">
			<span />
			<span />
			<span />
		</span>
	);
});
