import { memo, useEffect, useRef, type CSSProperties, type RefObject } from 'react';
import type { PeerQuality } from '../../../signaling/protocol/index.ts';
import type { TileViewport } from '../media/RoomClient.ts';
import { AudioLevel } from './AudioLevel.tsx';
import { EyeIcon, EyeOffIcon, MicOffIcon, PinIcon } from './Icons.tsx';
import { QualityIndicator } from './QualityIndicator.tsx';

export type TileSlot = 'grid' | 'main' | 'strip' | 'hidden';

export interface VideoTileProps {
	/** Identifies the tile in the stage (pinning); defaults to the peer id. */
	tileKey?: string;
	peerId: string;
	name: string;
	local: boolean;
	/** A camera tile (default) or a screen share. */
	source?: 'camera' | 'screen';
	track: MediaStreamTrack | null;
	videoOn: boolean;
	audioMuted: boolean;
	/** The person's microphone track, for the level meter (local or remote). */
	audioTrack?: MediaStreamTrack | null;
	/** Mirror the picture (the local camera, like a mirror). */
	mirror?: boolean;
	style?: CSSProperties;
	/** The consumer of a remote video, whose viewport is reported through onViewport. */
	consumerId?: string | null;
	onViewport?: (consumerId: string, viewport: TileViewport) => void;
	activeSpeaker?: boolean;
	quality?: PeerQuality | null;
	/** Where the stage put the tile. */
	slot?: TileSlot;
	pinned?: boolean;
	onTogglePin?: (tileKey: string) => void;
	/** The viewer turned this person's video off (saves bandwidth; their video is paused). */
	videoHidden?: boolean;
	onToggleVideoHidden?: (peerId: string) => void;
	/** An emoji reaction the person just sent (shown for a few seconds). */
	reaction?: string | null;
	/** The person's raised hand: their place in the order (1 = first), or null. */
	hand?: number | null;
}

const AVATAR_HUES = [200, 260, 320, 20, 150, 40, 180, 290];

function initials(name: string): string {
	const parts = name.trim().split(/\s+/).filter(Boolean);
	const letters = parts.length > 1 ? [parts[0]!, parts[parts.length - 1]!] : parts.slice(0, 1);
	return letters.map((p) => [...p][0]?.toUpperCase() ?? '').join('') || '?';
}

function hue(id: string): number {
	let h = 0;
	for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
	return AVATAR_HUES[h % AVATAR_HUES.length]!;
}

/**
 * Reports how a remote video is shown: its size in device pixels (ResizeObserver ×
 * devicePixelRatio) and whether it can be seen at all (on screen per IntersectionObserver,
 * the page visible, the viewer has not turned it off). Nothing is reported until both
 * observers have answered once.
 */
function useViewportReport(
	ref: RefObject<HTMLElement | null>,
	consumerId: string | null | undefined,
	report: VideoTileProps['onViewport'],
	forceHidden: boolean,
): void {
	useEffect(() => {
		const element = ref.current;
		if (!element || !consumerId || !report || typeof ResizeObserver === 'undefined') return;
		let size: { width: number; height: number } | null = null;
		let intersecting: boolean | null = typeof IntersectionObserver === 'undefined' ? true : null;
		let last = '';
		const send = (): void => {
			if (!size || intersecting === null) return;
			const dpr = window.devicePixelRatio || 1;
			const width = Math.round(size.width * dpr);
			const height = Math.round(size.height * dpr);
			const visible = !forceHidden && intersecting && document.visibilityState === 'visible' && width > 0 && height > 0;
			const key = `${width}x${height}:${visible}`;
			if (key === last) return;
			last = key;
			report(consumerId, { width, height, visible });
		};
		const resize = new ResizeObserver((entries) => {
			const entry = entries[entries.length - 1];
			if (!entry) return;
			const box = entry.borderBoxSize?.[0];
			size = box ? { width: box.inlineSize, height: box.blockSize } : { width: entry.contentRect.width, height: entry.contentRect.height };
			send();
		});
		resize.observe(element);
		let intersection: IntersectionObserver | null = null;
		if (typeof IntersectionObserver !== 'undefined') {
			intersection = new IntersectionObserver((entries) => {
				const entry = entries[entries.length - 1];
				if (!entry) return;
				intersecting = entry.isIntersecting;
				send();
			});
			intersection.observe(element);
		}
		// Minimised windows and background tabs are hidden pages; zooming changes devicePixelRatio.
		document.addEventListener('visibilitychange', send);
		window.addEventListener('resize', send);
		return () => {
			resize.disconnect();
			intersection?.disconnect();
			document.removeEventListener('visibilitychange', send);
			window.removeEventListener('resize', send);
		};
	}, [ref, consumerId, report, forceHidden]);
}

export const VideoTile = memo(function VideoTile({
	tileKey,
	peerId,
	name,
	local,
	source = 'camera',
	track,
	videoOn,
	audioMuted,
	audioTrack = null,
	mirror,
	style,
	consumerId,
	onViewport,
	activeSpeaker = false,
	quality = null,
	slot = 'grid',
	pinned = false,
	onTogglePin,
	videoHidden = false,
	onToggleVideoHidden,
	reaction = null,
	hand = null,
}: VideoTileProps) {
	const tileRef = useRef<HTMLDivElement>(null);
	const videoRef = useRef<HTMLVideoElement>(null);
	const key = tileKey ?? peerId;
	const screen = source === 'screen';

	useEffect(() => {
		const video = videoRef.current;
		if (!video) return;
		// Sound is played by separate <audio> elements; the attribute is set too, not only the property.
		video.muted = true;
		video.defaultMuted = true;
		if (!track) {
			video.srcObject = null;
			return;
		}
		video.srcObject = new MediaStream([track]);
		video.play().catch(() => {
			// Autoplay of muted video is allowed; a failure here means the element went away.
		});
	}, [track]);

	useViewportReport(tileRef, consumerId, onViewport, videoHidden || slot === 'hidden');

	const showVideo = videoOn && !!track && !videoHidden;
	const label = screen ? (local ? 'Your screen' : `${name}'s screen`) : local ? `${name} (you)` : name;
	return (
		<div
			ref={tileRef}
			className={`tile${local ? ' tile-local' : ''}${screen ? ' tile-screen' : ''}${activeSpeaker ? ' tile-speaking' : ''} slot-${slot}`}
			data-testid={screen ? 'screen-tile' : 'tile'}
			data-peer-id={peerId}
			data-peer-name={name}
			data-local={local ? 'true' : 'false'}
			data-source={source}
			data-video={showVideo ? 'on' : 'off'}
			data-video-hidden={videoHidden ? 'true' : 'false'}
			data-audio={audioMuted ? 'muted' : 'on'}
			data-active-speaker={activeSpeaker ? 'true' : 'false'}
			data-slot={slot}
			data-pinned={pinned ? 'true' : 'false'}
			style={style}
		>
			<video
				ref={videoRef}
				className={`tile-video${mirror ? ' mirrored' : ''}${showVideo ? '' : ' hidden'}`}
				muted
				autoPlay
				playsInline
			/>
			{!showVideo && (
				<div className="tile-avatar" aria-hidden="true">
					<span style={{ '--avatar-hue': hue(peerId) } as CSSProperties}>{initials(name)}</span>
				</div>
			)}
			{videoHidden && <div className="tile-note">Video off for you</div>}
			{hand ? (
				<div className="tile-hand" data-testid="tile-hand" role="img" aria-label={`${name} raised their hand (#${hand})`}>
					✋ {hand}
				</div>
			) : null}
			{reaction ? (
				<div key={reaction} className="tile-reaction" data-testid="tile-reaction" role="img" aria-label={`${name} reacted ${reaction}`}>
					{reaction}
				</div>
			) : null}
			<div className="tile-actions">
				{onTogglePin && (
					<button
						type="button"
						className={`tile-action${pinned ? ' active' : ''}`}
						onClick={() => onTogglePin(key)}
						aria-pressed={pinned}
						aria-label={pinned ? `Unpin ${label}` : `Pin ${label}`}
						title={pinned ? 'Unpin' : 'Pin (show large)'}
						data-testid="pin"
					>
						<PinIcon width={16} height={16} />
					</button>
				)}
				{onToggleVideoHidden && !local && !screen && (videoOn || videoHidden) && (
					<button
						type="button"
						className={`tile-action${videoHidden ? ' active' : ''}`}
						onClick={() => onToggleVideoHidden(peerId)}
						aria-pressed={videoHidden}
						aria-label={videoHidden ? `Show ${name}'s video` : `Turn off ${name}'s video for you`}
						title={videoHidden ? 'Show video' : 'Turn off video (for you)'}
						data-testid="hide-video"
					>
						{videoHidden ? <EyeIcon width={16} height={16} /> : <EyeOffIcon width={16} height={16} />}
					</button>
				)}
			</div>
			<div className="tile-label">
				{!screen && audioMuted && (
					<span className="tile-muted" data-testid="mic-muted" title={`${name} is muted`} role="img" aria-label="muted">
						<MicOffIcon width={14} height={14} />
					</span>
				)}
				{!screen && !audioMuted && <AudioLevel track={audioTrack} muted={audioMuted} />}
				<span className="tile-name">{label}</span>
				{!screen && <QualityIndicator quality={quality} />}
			</div>
		</div>
	);
});
