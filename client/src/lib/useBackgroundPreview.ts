/**
 * The lobby preview with the chosen background effect: the camera track goes through a
 * BackgroundProcessor (in its worker) and the preview shows the processed track. If the
 * model cannot start, the plain camera is shown and `error` says why (in words for the person).
 */
import { useEffect, useState } from 'react';
import { classifyEffectError, describeEffectError, type BackgroundMode } from '../media/background/background.ts';
import { BackgroundProcessor } from '../media/background/BackgroundProcessor.ts';
import { backgroundPicture, onBackgroundPicture } from '../media/background/picture.ts';

export function useBackgroundPreview(
	camera: MediaStreamTrack | null,
	mode: BackgroundMode,
): { track: MediaStreamTrack | null; error: string | null; ready: boolean } {
	const [processor, setProcessor] = useState<BackgroundProcessor | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [processed, setProcessed] = useState<MediaStreamTrack | null>(null);
	const [ready, setReady] = useState(false);
	const on = mode !== 'none' && !error;

	// One processor (one model load) while the effect is on.
	useEffect(() => {
		if (!on) return;
		let p: BackgroundProcessor;
		try {
			p = new BackgroundProcessor(mode === 'image' ? 'image' : 'blur', backgroundPicture(), { onError: (reason) => setError(describeEffectError(reason)) });
		} catch (e) {
			setError(describeEffectError(classifyEffectError(e)));
			return;
		}
		const unsubscribe = onBackgroundPicture((picture) => p.setPicture(picture));
		setProcessor(p);
		return () => {
			unsubscribe();
			p.close();
			setProcessor(null);
		};
		// The mode is applied to the running processor below; only on/off makes a new one.
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [on]);

	useEffect(() => {
		if (mode !== 'none') processor?.setMode(mode);
	}, [processor, mode]);

	useEffect(() => {
		if (!processor || !camera || camera.readyState !== 'live') {
			setProcessed(null);
			return;
		}
		setProcessed(processor.attach(camera));
		return () => processor.detach();
	}, [processor, camera]);

	// The model gives masks (until then the preview is all blurred).
	useEffect(() => {
		setReady(false);
		if (!processor || !processed) return;
		const timer = setInterval(() => {
			if (!processor.stats()?.ready) return;
			setReady(true);
			clearInterval(timer);
		}, 250);
		return () => clearInterval(timer);
	}, [processor, processed]);

	// A new choice after a failure tries again.
	useEffect(() => setError(null), [mode]);

	const active = on && !!processed;
	return { track: active ? processed : camera, error, ready: active && ready };
}
