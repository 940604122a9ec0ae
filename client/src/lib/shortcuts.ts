/**
 * Call-page keyboard shortcuts: single letters (as in Jitsi) when the focus is not in a
 * text field, and Meet's Ctrl+D / Ctrl+E. One table, shown in the help dialog.
 */
import { useEffect, useRef } from 'react';

export type ShortcutAction = 'mic' | 'camera' | 'chat' | 'hand' | 'help';

export interface Shortcut {
	action: ShortcutAction;
	keys: string[];
	label: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
	{ action: 'mic', keys: ['M', 'Ctrl+D'], label: 'Mute or unmute the microphone' },
	{ action: 'camera', keys: ['V', 'Ctrl+E'], label: 'Turn the camera off or on' },
	{ action: 'chat', keys: ['C'], label: 'Open or close the chat' },
	{ action: 'hand', keys: ['H'], label: 'Raise or lower your hand' },
	{ action: 'help', keys: ['?'], label: 'Show these shortcuts' },
];

/** What a key press asks for, or null. Exported for the unit test. */
export function shortcutFor(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; editable: boolean }): ShortcutAction | null {
	if (e.altKey || e.metaKey) return null;
	const key = e.key.toLowerCase();
	if (e.ctrlKey) return key === 'd' ? 'mic' : key === 'e' ? 'camera' : null;
	if (e.editable) return null;
	switch (key) {
		case 'm':
			return 'mic';
		case 'v':
			return 'camera';
		case 'c':
			return 'chat';
		case 'h':
			return 'hand';
		case '?':
			return 'help';
		default:
			return null;
	}
}

function isEditable(target: EventTarget | null): boolean {
	if (!(target instanceof HTMLElement)) return false;
	return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

/** Calls the handler for shortcut keys pressed anywhere on the page (not inside an open modal dialog). */
export function useShortcuts(handlers: Partial<Record<ShortcutAction, () => void>>): void {
	const latest = useRef(handlers);
	latest.current = handlers;
	useEffect(() => {
		const onKey = (e: KeyboardEvent): void => {
			if (e.defaultPrevented || e.repeat) return;
			if (document.querySelector('dialog[open]')) return;
			const action = shortcutFor({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, editable: isEditable(e.target) });
			const handler = action ? latest.current[action] : undefined;
			if (!handler) return;
			e.preventDefault();
			handler();
		};
		window.addEventListener('keydown', onKey);
		return () => window.removeEventListener('keydown', onKey);
	}, []);
}
