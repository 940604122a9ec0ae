import { useEffect, useRef } from 'react';
import { applySpeaker, onSpeakerChange } from '../media/speaker.ts';

/** Plays one remote audio track (hidden). Reports when the browser blocks autoplay. */
export function RemoteAudio({ track, peerId, onBlocked }: { track: MediaStreamTrack; peerId: string; onBlocked: () => void }) {
	const ref = useRef<HTMLAudioElement>(null);
	const blocked = useRef(onBlocked);
	blocked.current = onBlocked;

	useEffect(() => {
		const audio = ref.current;
		if (!audio) return;
		audio.srcObject = new MediaStream([track]);
		void applySpeaker(audio);
		const unsubscribe = onSpeakerChange((deviceId) => void applySpeaker(audio, deviceId));
		audio.play().catch((error: unknown) => {
			if (error instanceof DOMException && error.name === 'NotAllowedError') blocked.current();
		});
		return () => {
			unsubscribe();
			audio.srcObject = null;
		};
	}, [track]);

	return <audio ref={ref} autoPlay data-testid="remote-audio" data-peer-id={peerId} className="remote-audio" />;
}

/** Retry every <audio> on the page after a click (autoplay was blocked). */
export function resumeAllAudio(): void {
	for (const audio of document.querySelectorAll<HTMLAudioElement>('audio.remote-audio')) {
		audio.play().catch(() => {});
	}
}
