import type { ReactNode } from 'react';
import { AlertIcon, CloseIcon } from './Icons.tsx';

export function Banner({
	kind = 'error',
	children,
	onClose,
	testId,
}: {
	kind?: 'error' | 'warning' | 'info';
	children: ReactNode;
	onClose?: () => void;
	testId?: string;
}) {
	return (
		<div className={`banner banner-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
			<AlertIcon className="banner-icon" />
			<div className="banner-text">{children}</div>
			{onClose && (
				<button type="button" className="banner-close" onClick={onClose} aria-label="Dismiss">
					<CloseIcon width={16} height={16} />
				</button>
			)}
		</div>
	);
}
