import { memo } from 'react';
import type { PeerQuality, QualityLevel } from '../../../signaling/protocol/index.ts';

const LABEL: Record<QualityLevel, string> = {
	good: 'Good connection',
	fair: 'Fair connection',
	poor: 'Poor connection',
	unknown: 'Connection quality not known yet',
};

const BARS: Record<QualityLevel, number> = { good: 3, fair: 2, poor: 1, unknown: 0 };

function describe(q: PeerQuality | null): string {
	if (!q) return LABEL.unknown;
	const parts = [LABEL[q.quality]];
	if (q.rttMs !== null) parts.push(`RTT ${q.rttMs} ms`);
	if (q.lossPercent !== null) parts.push(`loss ${q.lossPercent}%`);
	if (q.sendKbps > 0) parts.push(`sending ${q.sendKbps} kbps`);
	return parts.join(' · ');
}

/** Good / fair / poor bars from the SFU's quality reports. */
export const QualityIndicator = memo(function QualityIndicator({ quality }: { quality: PeerQuality | null }) {
	const level = quality?.quality ?? 'unknown';
	const bars = BARS[level];
	const text = describe(quality);
	return (
		<span className={`quality quality-${level}`} data-testid="quality" data-quality={level} title={text} aria-label={text} role="img">
			{[1, 2, 3].map((i) => (
				<span key={i} className={i <= bars ? 'on' : ''} />
			))}
		</span>
	);
});
