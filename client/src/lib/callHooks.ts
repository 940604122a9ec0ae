/** Small helpers of the call page: a media query as state, the call's elapsed time, copying text. */
import { useEffect, useState } from 'react';

/** Whether a CSS media query matches, following changes. */
export function useMediaQuery(query: string): boolean {
	const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
	useEffect(() => {
		const list = window.matchMedia(query);
		const onChange = (): void => setMatches(list.matches);
		list.addEventListener('change', onChange);
		onChange();
		return () => list.removeEventListener('change', onChange);
	}, [query]);
	return matches;
}

/** The time since the call page opened, as m:ss or h:mm:ss, ticking while `running`. */
export function useElapsed(running: boolean): string {
	const [start] = useState(() => Date.now());
	const [now, setNow] = useState(() => Date.now());
	useEffect(() => {
		if (!running) return;
		const timer = setInterval(() => setNow(Date.now()), 1000);
		return () => clearInterval(timer);
	}, [running]);
	const seconds = Math.max(0, Math.floor((now - start) / 1000));
	const h = Math.floor(seconds / 3600);
	const m = Math.floor((seconds % 3600) / 60);
	const s = seconds % 60;
	const pad = (n: number): string => String(n).padStart(2, '0');
	return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** Copy text to the clipboard; falls back to a selection copy outside secure contexts. */
export async function copyText(text: string): Promise<boolean> {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		// Clipboard API needs a secure context and permission; fall back to a selection copy.
		const area = document.createElement('textarea');
		area.value = text;
		area.setAttribute('readonly', '');
		area.style.position = 'fixed';
		area.style.opacity = '0';
		document.body.appendChild(area);
		area.select();
		let ok = false;
		try {
			ok = document.execCommand('copy');
		} catch {
			ok = false;
		}
		area.remove();
		return ok;
	}
}
