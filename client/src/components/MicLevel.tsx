import { useEffect, useRef } from 'react';

/** A small live input-level bar for a microphone track (Web Audio analyser, no re-renders). */
export function MicLevel({ track }: { track: MediaStreamTrack | null }) {
	const barRef = useRef<HTMLDivElement>(null);

	useEffect(() => {
		const bar = barRef.current;
		if (!track || !bar || typeof AudioContext === 'undefined') return;
		const context = new AudioContext();
		const source = context.createMediaStreamSource(new MediaStream([track]));
		const analyser = context.createAnalyser();
		analyser.fftSize = 512;
		source.connect(analyser);
		const data = new Float32Array(analyser.fftSize);
		let frame = 0;
		let level = 0;
		const resume = (): void => void context.resume().catch(() => {});
		window.addEventListener('pointerdown', resume, { once: true });
		const tick = (): void => {
			analyser.getFloatTimeDomainData(data);
			let sum = 0;
			for (const v of data) sum += v * v;
			const rms = Math.sqrt(sum / data.length);
			const target = track.enabled ? Math.min(1, rms * 6) : 0;
			level = Math.max(target, level * 0.85);
			bar.style.transform = `scaleX(${level.toFixed(3)})`;
			frame = requestAnimationFrame(tick);
		};
		frame = requestAnimationFrame(tick);
		return () => {
			cancelAnimationFrame(frame);
			window.removeEventListener('pointerdown', resume);
			source.disconnect();
			void context.close().catch(() => {});
			bar.style.transform = 'scaleX(0)';
		};
	}, [track]);

	return (
		<div className="mic-level" aria-hidden="true">
			<div className="mic-level-bar" ref={barRef} />
		</div>
	);
}
