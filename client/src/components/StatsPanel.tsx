/** One's own connection in numbers, refreshed every second while open. */
import { useEffect, useState } from 'react';
import type { ProcessorStats } from '../media/background/BackgroundProcessor.ts';
import type { RoomClient } from '../media/RoomClient.ts';
import { describePath, StatsSampler, type StatsSummary } from '../media/stats.ts';
import { CloseIcon } from './Icons.tsx';

const POLL_MS = 1000;

function ms(v: number | null): string {
	return v === null ? '–' : `${v} ms`;
}

function pct(v: number | null): string {
	return v === null ? '–' : `${v}%`;
}

function layer(l: { spatialLayer: number | null; temporalLayer: number | null } | null): string {
	if (!l || l.spatialLayer === null) return '–';
	return `S${l.spatialLayer}${l.temporalLayer === null ? '' : `/T${l.temporalLayer}`}`;
}

export function StatsPanel({ client, onClose }: { client: RoomClient; onClose: () => void }) {
	const [stats, setStats] = useState<StatsSummary | null>(null);
	const [effect, setEffect] = useState<ProcessorStats | null>(null);

	useEffect(() => {
		const sampler = new StatsSampler();
		let stopped = false;
		const poll = async (): Promise<void> => {
			const { send, recv } = await client.getTransportStats();
			if (stopped) return;
			setStats(sampler.sample(send, recv, client.describeConsumers()));
			setEffect(client.backgroundStats());
		};
		void poll();
		const timer = setInterval(() => void poll(), POLL_MS);
		return () => {
			stopped = true;
			clearInterval(timer);
		};
	}, [client]);

	return (
		<aside className="stats-panel" data-testid="stats-panel" aria-label="Connection statistics">
			<div className="stats-head">
				<h2>Your connection</h2>
				<button type="button" className="banner-close" onClick={onClose} aria-label="Close statistics">
					<CloseIcon width={16} height={16} />
				</button>
			</div>
			{!stats ? (
				<p className="subtle">Measuring…</p>
			) : (
				<>
					<dl>
						<dt>Path</dt>
						<dd data-testid="stats-path" data-path={stats.path?.kind ?? ''} data-relay-protocol={stats.path?.relayProtocol ?? ''}>
							{describePath(stats.path)}
						</dd>
					</dl>
					<h3>Sending</h3>
					<dl>
						<dt>Bitrate</dt>
						<dd data-testid="stats-send-kbps">{stats.send.kbps} kbps</dd>
						<dt>Estimate</dt>
						<dd>{stats.send.availableKbps === null ? '–' : `${stats.send.availableKbps} kbps`}</dd>
						<dt>RTT</dt>
						<dd data-testid="stats-rtt">{ms(stats.send.rttMs ?? stats.recv.rttMs)}</dd>
						<dt>Loss</dt>
						<dd>{pct(stats.send.lossPercent)}</dd>
						{effect && (
							<>
								<dt>Background</dt>
								<dd
									data-testid="stats-background"
									data-fps={effect.fps}
									data-ms={effect.msPerFrame ?? ''}
									data-model-fps={effect.modelFps}
									data-model-ms={effect.modelMs ?? ''}
								>
									{effect.mode === 'blur' ? 'blur' : 'picture'}
									{effect.ready
										? `: ${effect.fps} fps at ${effect.width}×${effect.height}, ${effect.msPerFrame ?? '–'} ms/frame; model ${effect.modelMs ?? '–'} ms, ${effect.modelFps}/s (in a worker)`
										: ' (starting…)'}
								</dd>
							</>
						)}
					</dl>
					{stats.send.video.length > 0 && (
						<table>
							<thead>
								<tr>
									<th>Layer</th>
									<th>Resolution</th>
									<th>fps</th>
									<th>kbps</th>
									<th>Limit</th>
								</tr>
							</thead>
							<tbody>
								{stats.send.video.map((v, i) => (
									<tr key={`${v.rid}-${i}`} data-testid="stats-outbound" data-rid={v.rid} data-active={String(v.active)}>
										<td>{v.rid || 'video'}</td>
										<td>{v.active ? (v.width ? `${v.width}×${v.height}` : '–') : 'off'}</td>
										<td>{v.active ? v.fps : '–'}</td>
										<td>{v.kbps}</td>
										<td>{v.limitation}</td>
									</tr>
								))}
							</tbody>
						</table>
					)}
					<h3>Receiving</h3>
					<dl>
						<dt>Bitrate</dt>
						<dd data-testid="stats-recv-kbps">{stats.recv.kbps} kbps</dd>
						<dt>Loss</dt>
						<dd>{pct(stats.recv.lossPercent)}</dd>
					</dl>
					{stats.recv.video.length > 0 && (
						<table>
							<thead>
								<tr>
									<th>Video</th>
									<th>Resolution</th>
									<th>fps</th>
									<th>Layer</th>
									<th>kbps</th>
									<th>Loss</th>
									<th>Freezes</th>
								</tr>
							</thead>
							<tbody>
								{stats.recv.video.map((v, i) => (
									<tr key={`${v.peerName}-${v.source}-${i}`} data-testid="stats-inbound-video">
										<td>{v.source === 'screen' ? `${v.peerName} (screen)` : v.peerName}</td>
										<td>{v.width ? `${v.width}×${v.height}` : '–'}</td>
										<td>{v.fps}</td>
										<td data-testid="stats-layer">{layer(v.layers)}</td>
										<td>{v.kbps}</td>
										<td>{v.lossPercent}%</td>
										<td>{v.freezes}</td>
									</tr>
								))}
							</tbody>
						</table>
					)}
					{stats.recv.audio.length > 0 && (
						<table>
							<thead>
								<tr>
									<th>Audio</th>
									<th>kbps</th>
									<th>Loss</th>
									<th>Jitter</th>
									<th>Concealed</th>
									<th>Buffer</th>
								</tr>
							</thead>
							<tbody>
								{stats.recv.audio.map((a, i) => (
									<tr key={`${a.peerName}-${i}`} data-testid="stats-inbound-audio">
										<td>{a.peerName}</td>
										<td>{a.kbps}</td>
										<td>{a.lossPercent}%</td>
										<td>{a.jitterMs} ms</td>
										<td>{a.concealedPercent}%</td>
										<td>{a.jitterBufferMs === null ? 'auto' : `${a.jitterBufferMs} ms`}</td>
									</tr>
								))}
							</tbody>
						</table>
					)}
				</>
			)}
		</aside>
	);
}
