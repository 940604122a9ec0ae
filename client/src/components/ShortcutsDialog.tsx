import { SHORTCUTS, type ShortcutAction } from '../lib/shortcuts.ts';
import { Dialog } from './Dialog.tsx';

export function ShortcutsDialog({ onClose, available }: { onClose: () => void; available: ReadonlySet<ShortcutAction> }) {
	return (
		<Dialog title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
			<dl className="shortcut-list">
				{SHORTCUTS.filter((s) => available.has(s.action)).map((s) => (
					<div key={s.action} style={{ display: 'contents' }}>
						<dt>
							{s.keys.map((k, i) => (
								<span key={k}>
									{i > 0 && ' or '}
									<kbd>{k}</kbd>
								</span>
							))}
						</dt>
						<dd>{s.label}</dd>
					</div>
				))}
				<dt>
					<kbd>Esc</kbd>
				</dt>
				<dd>Close the chat or a dialog</dd>
			</dl>
		</Dialog>
	);
}
