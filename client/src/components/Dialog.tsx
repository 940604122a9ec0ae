/**
 * A modal dialog on the native <dialog> element: focus is trapped and Esc closes it (the
 * browser does both); focus goes back to what had it when the dialog opened.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { CloseIcon } from './Icons.tsx';

export function Dialog({ title, onClose, children, testId }: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
	const ref = useRef<HTMLDialogElement>(null);
	useEffect(() => {
		const dialog = ref.current;
		if (!dialog) return;
		const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
		dialog.showModal();
		return () => {
			dialog.close();
			opener?.focus();
		};
	}, []);
	return (
		<dialog
			ref={ref}
			className="dialog"
			aria-labelledby="dialog-title"
			data-testid={testId}
			onCancel={(e) => {
				e.preventDefault();
				onClose();
			}}
		>
			<div className="dialog-head">
				<h2 id="dialog-title">{title}</h2>
				<button type="button" className="banner-close" onClick={onClose} aria-label="Close" data-testid="dialog-close">
					<CloseIcon width={16} height={16} />
				</button>
			</div>
			{children}
		</dialog>
	);
}
