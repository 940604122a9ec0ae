/**
 * "You are muted": shown while the microphone is muted and the person talks. The muted
 * track carries silence, so a clone of it (enabled) is metered instead; nothing of the
 * clone is sent anywhere. Talking = the level above a threshold for a few ticks within
 * a second; the hint stays a few seconds after the last of it.
 */
import { useEffect, useState } from 'react';
import { subscribeAudioLevel } from '../media/audioLevels.ts';

const TALK_LEVEL = 0.3;
/** Ticks (50 ms each) above the level within the last second that count as talking. */
const TALK_TICKS = 4;
const HOLD_MS = 3000;

export function MutedHint({ track, muted }: { track: MediaStreamTrack | null; muted: boolean }) {
	const [talking, setTalking] = useState(false);

	useEffect(() => {
		if (!muted || !track || track.readyState !== 'live') {
			setTalking(false);
			return;
		}
		const clone = track.clone();
		clone.enabled = true;
		const recent: number[] = [];
		let hide: ReturnType<typeof setTimeout> | null = null;
		const unsubscribe = subscribeAudioLevel(clone, (level) => {
			const now = performance.now();
			if (level >= TALK_LEVEL) recent.push(now);
			while (recent.length > 0 && recent[0]! < now - 1000) recent.shift();
			if (recent.length >= TALK_TICKS) {
				setTalking(true);
				if (hide) clearTimeout(hide);
				hide = setTimeout(() => setTalking(false), HOLD_MS);
			}
		});
		return () => {
			unsubscribe();
			if (hide) clearTimeout(hide);
			clone.stop();
			setTalking(false);
		};
	}, [track, muted]);

	if (!talking) return null;
	return (
		<div className="hint" role="status" data-testid="muted-hint">
			You are muted. Press <kbd>M</kbd> or the microphone button to talk.
		</div>
	);
}
