import { useRef, useState, type ReactNode } from 'react';
import { MoreIcon } from './Icons.tsx';

/** On phones the secondary controls live behind "More" (a disclosure: Esc closes it, choosing an item closes it). */
export function MoreControls({ children }: { children: ReactNode }) {
	const [open, setOpen] = useState(false);
	const button = useRef<HTMLButtonElement>(null);
	return (
		<div
			className="more-controls"
			onKeyDown={(e) => {
				if (e.key === 'Escape' && open) {
					e.preventDefault();
					setOpen(false);
					button.current?.focus();
				}
			}}
		>
			<button
				ref={button}
				type="button"
				className={`control${open ? ' active' : ''}`}
				aria-expanded={open}
				aria-controls="more-panel"
				aria-label="More options"
				title="More options"
				onClick={() => setOpen((o) => !o)}
				data-testid="more-controls"
			>
				<MoreIcon />
				<span className="control-label">More</span>
			</button>
			{open && (
				<div id="more-panel" className="more-panel" onClick={() => setOpen(false)}>
					{children}
				</div>
			)}
		</div>
	);
}
