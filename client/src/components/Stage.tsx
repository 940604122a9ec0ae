/**
 * The video stage: every camera and screen-share tile, placed by stageLayout (a grid, or
 * one large tile with a strip). Tiles are absolutely positioned children of one container
 * in a stable order, so a layout change moves and resizes them without re-creating their
 * <video> elements (no black flash, and the new size is reported at once).
 *
 * What is large: a pinned tile; else a remote screen share; else, in the speaker layout,
 * the active speaker (the last remote one who spoke); else everyone in a grid.
 */
import { useCallback, useLayoutEffect, useRef, useState, type CSSProperties, type RefObject } from 'react';
import type { RoomClient, RoomSnapshot } from '../media/RoomClient.ts';
import { gridLayout, spotlightLayout, type StageLayout } from '../lib/stageLayout.ts';
import { VideoTile, type VideoTileProps } from './VideoTile.tsx';
import './media.css';

export type StageMode = 'grid' | 'speaker';

export interface StageProps {
	client: RoomClient;
	snapshot: RoomSnapshot;
	mode: StageMode;
	/** Key of the pinned tile (see tileKeys), or null. */
	pinned: string | null;
	onTogglePin: (key: string) => void;
	/** Remote peers whose video the viewer turned off. */
	hiddenVideos: ReadonlySet<string>;
	onToggleVideoHidden: (peerId: string) => void;
	/** Reactions showing now, by peer id (own: by the local identity). */
	reactions?: ReadonlyMap<string, string>;
	/** Raised hands: peer id → place in the order they went up (1 = first). */
	hands?: ReadonlyMap<string, number>;
}

export const tileKeys = {
	camera: (peerId: string, local: boolean) => (local ? 'camera:local' : `camera:${peerId}`),
	screen: (peerId: string, local: boolean) => (local ? 'screen:local' : `screen:${peerId}`),
};

type TileSpec = Omit<VideoTileProps, 'style' | 'slot'> & { tileKey: string };

function useSize(ref: RefObject<HTMLElement | null>): { width: number; height: number } | null {
	const [size, setSize] = useState<{ width: number; height: number } | null>(null);
	useLayoutEffect(() => {
		const element = ref.current;
		if (!element) return;
		const measure = (): void => {
			const { width, height } = element.getBoundingClientRect();
			setSize((old) => (old && old.width === width && old.height === height ? old : { width, height }));
		};
		measure();
		const observer = new ResizeObserver(measure);
		observer.observe(element);
		return () => observer.disconnect();
	}, [ref]);
	return size;
}

export function Stage({ client, snapshot, mode, pinned, onTogglePin, hiddenVideos, onToggleVideoHidden, reactions, hands }: StageProps) {
	const ref = useRef<HTMLDivElement>(null);
	const size = useSize(ref);
	const lastRemoteSpeaker = useRef<string | null>(null);
	const { participants, local, activeSpeaker } = snapshot;
	const selfId = snapshot.self?.id ?? 'local';
	const selfName = snapshot.self?.name ?? client.name;
	const report = client.reportViewport;

	if (activeSpeaker && participants.some((p) => p.id === activeSpeaker)) lastRemoteSpeaker.current = activeSpeaker;

	const tiles: TileSpec[] = [];
	for (const p of participants) {
		tiles.push({
			tileKey: tileKeys.camera(p.id, false),
			peerId: p.id,
			name: p.name,
			local: false,
			track: p.videoTrack,
			videoOn: p.videoOn,
			audioMuted: p.audioMuted,
			audioTrack: p.audioTrack,
			consumerId: p.videoConsumerId,
			onViewport: report,
			activeSpeaker: activeSpeaker === p.id,
			quality: p.quality,
			videoHidden: hiddenVideos.has(p.id),
			onToggleVideoHidden,
			reaction: reactions?.get(p.id) ?? null,
			hand: hands?.get(p.id) ?? null,
		});
	}
	tiles.push({
		tileKey: tileKeys.camera(selfId, true),
		peerId: selfId,
		name: selfName,
		local: true,
		track: local.videoTrack,
		videoOn: local.cameraOn && !!local.videoTrack,
		audioMuted: !local.micOn,
		audioTrack: local.audioTrack,
		mirror: true,
		activeSpeaker: activeSpeaker === selfId && participants.length > 0,
		quality: snapshot.selfQuality,
		reaction: reactions?.get(selfId) ?? null,
		hand: hands?.get(selfId) ?? null,
	});
	for (const p of participants) {
		if (!p.screen) continue;
		tiles.push({
			tileKey: tileKeys.screen(p.id, false),
			peerId: p.id,
			name: p.name,
			local: false,
			source: 'screen',
			track: p.screen.track,
			videoOn: true,
			audioMuted: true,
			consumerId: p.screen.consumerId,
			onViewport: report,
		});
	}
	if (local.screenTrack) {
		tiles.push({
			tileKey: tileKeys.screen(selfId, true),
			peerId: selfId,
			name: selfName,
			local: true,
			source: 'screen',
			track: local.screenTrack,
			videoOn: true,
			audioMuted: true,
		});
	}

	let mainIndex = pinned ? tiles.findIndex((t) => t.tileKey === pinned) : -1;
	if (mainIndex < 0) mainIndex = tiles.findIndex((t) => t.source === 'screen' && !t.local);
	if (mainIndex < 0 && mode === 'speaker' && participants.length > 0) {
		const speaker = participants.find((p) => p.id === lastRemoteSpeaker.current) ?? participants[0]!;
		mainIndex = tiles.findIndex((t) => t.tileKey === tileKeys.camera(speaker.id, false));
	}

	let layout: StageLayout | null = null;
	if (size && size.width > 0 && size.height > 0) {
		layout =
			mainIndex >= 0
				? spotlightLayout(tiles.length, mainIndex, size.width, size.height, { fillMain: tiles[mainIndex]?.source === 'screen' })
				: gridLayout(tiles.length, size.width, size.height);
	}

	const togglePin = useCallback((key: string) => onTogglePin(key), [onTogglePin]);

	return (
		<div
			className="stage-tiles"
			ref={ref}
			data-testid="grid"
			data-count={tiles.length}
			data-layout={mainIndex >= 0 ? 'spotlight' : 'grid'}
			data-main={mainIndex >= 0 ? tiles[mainIndex]!.tileKey : ''}
		>
			{tiles.map((tile, i) => {
				const rect = layout?.rects[i];
				const style: CSSProperties = rect
					? { transform: `translate(${rect.x}px, ${rect.y}px)`, width: rect.width, height: rect.height }
					: { visibility: 'hidden' };
				return (
					<VideoTile
						key={tile.tileKey}
						{...tile}
						slot={rect?.slot ?? 'grid'}
						style={style}
						pinned={pinned === tile.tileKey}
						onTogglePin={togglePin}
					/>
				);
			})}
			{layout?.overflowRect && (
				<div
					className="stage-overflow"
					data-testid="stage-overflow"
					style={{
						transform: `translate(${layout.overflowRect.x}px, ${layout.overflowRect.y}px)`,
						width: layout.overflowRect.width,
						height: layout.overflowRect.height,
					}}
				>
					+{layout.overflow}
				</div>
			)}
		</div>
	);
}
