/**
 * One's own connection, when it is poor: what is wrong, what Parley does about it, and
 * the one thing the person can do (audio only). Shown after two poor measurements in a row
 * (a blip is not worth a banner), gone once the connection recovers.
 */
import { useEffect, useRef, useState } from 'react';
import type { PeerQuality } from '../../../signaling/protocol/index.ts';
import { CloseIcon } from './Icons.tsx';

export function ConnectionBanner({
	quality,
	audioOnly,
	onAudioOnly,
}: {
	quality: PeerQuality | null;
	audioOnly: boolean;
	onAudioOnly: (on: boolean) => void;
}) {
	const poorCount = useRef(0);
	const [shown, setShown] = useState(false);
	const [dismissed, setDismissed] = useState(false);

	useEffect(() => {
		if (!quality) return;
		if (quality.quality === 'poor') {
			poorCount.current += 1;
			if (poorCount.current >= 2) setShown(true);
		} else if (quality.quality === 'good') {
			poorCount.current = 0;
			setShown(false);
			setDismissed(false);
		}
	}, [quality]);

	if ((!shown || dismissed) && !audioOnly) return null;
	const details = [
		quality?.lossPercent ? `${Math.round(quality.lossPercent)}% of packets lost` : null,
		quality?.rttMs ? `${Math.round(quality.rttMs)} ms delay` : null,
	].filter(Boolean);
	return (
		<div className="banner banner-warning connection-banner" role="status" data-testid="connection-banner">
			<div className="banner-text">
				{audioOnly ? (
					<>
						<strong>Audio only.</strong> Video is off both ways to save your connection.
					</>
				) : (
					<>
						<strong>Your connection is poor</strong>
						{details.length > 0 ? ` (${details.join(', ')})` : ''}. Parley is lowering the video quality and protecting
						your audio; if voices break up, switch to audio only.
					</>
				)}
			</div>
			<button type="button" className="secondary-button" onClick={() => onAudioOnly(!audioOnly)} data-testid="audio-only">
				{audioOnly ? 'Turn video back on' : 'Audio only'}
			</button>
			{!audioOnly && (
				<button type="button" className="banner-close" onClick={() => setDismissed(true)} aria-label="Dismiss">
					<CloseIcon width={16} height={16} />
				</button>
			)}
		</div>
	);
}
