/**
 * The lobby's consent notice: whether the meeting is being recorded, asked every few
 * seconds while the lobby is open (with the link's token or invitation; open in dev mode).
 * Unknown (null) until answered, or when the server cannot say.
 */
import { useEffect, useState } from 'react';
import { fetchRoomRecording } from './api.ts';
import { inviteFromUrl, tokenFromUrl } from './route.ts';

const POLL_MS = 4000;

export function useRoomRecording(room: string | null): boolean | null {
	const [recording, setRecording] = useState<boolean | null>(null);
	useEffect(() => {
		setRecording(null);
		if (!room) return;
		const credential = tokenFromUrl() ?? inviteFromUrl();
		let cancelled = false;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const ask = (): void => {
			fetchRoomRecording(room, credential).then(
				(answer) => {
					if (!cancelled) setRecording(answer.recording);
				},
				() => {
					if (!cancelled) setRecording(null);
				},
			);
			timer = setTimeout(ask, POLL_MS);
		};
		// Debounced: the room field may be typed in.
		timer = setTimeout(ask, 300);
		return () => {
			cancelled = true;
			clearTimeout(timer);
		};
	}, [room]);
	return recording;
}
