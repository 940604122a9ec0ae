import { memo, useEffect, useRef, type CSSProperties } from 'react';
import { MicOffIcon } from './Icons.tsx';

export interface VideoTileProps {
	peerId: string;
	name: string;
	local: boolean;
	track: MediaStreamTrack | null;
	videoOn: boolean;
	audioMuted: boolean;
	/** Mirror the picture (the local camera, like a mirror). */
	mirror?: boolean;
	style?: CSSProperties;
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

export const VideoTile = memo(function VideoTile({ peerId, name, local, track, videoOn, audioMuted, mirror, style }: VideoTileProps) {
	const videoRef = useRef<HTMLVideoElement>(null);

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

	const showVideo = videoOn && !!track;
	return (
		<div
			className={`tile${local ? ' tile-local' : ''}`}
			data-testid="tile"
			data-peer-id={peerId}
			data-peer-name={name}
			data-local={local ? 'true' : 'false'}
			data-video={showVideo ? 'on' : 'off'}
			data-audio={audioMuted ? 'muted' : 'on'}
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
			<div className="tile-label">
				{audioMuted && (
					<span className="tile-muted" data-testid="mic-muted" title={`${name} is muted`} aria-label="muted">
						<MicOffIcon width={14} height={14} />
					</span>
				)}
				<span className="tile-name">{local ? `${name} (you)` : name}</span>
			</div>
		</div>
	);
});
