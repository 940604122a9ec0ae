/**
 * The tile grid: picks the column count that makes 16:9 tiles as large as possible in the
 * space available (a CSS grid with computed columns), recomputed on resize.
 */
import { useLayoutEffect, useRef, useState, type CSSProperties, type ReactNode } from 'react';
import { bestLayout } from '../lib/layout.ts';

export function VideoGrid({ count, children }: { count: number; children: ReactNode }) {
	const ref = useRef<HTMLDivElement>(null);
	const [size, setSize] = useState<{ width: number; height: number } | null>(null);

	useLayoutEffect(() => {
		const element = ref.current;
		if (!element) return;
		const measure = (): void => {
			const { width, height } = element.getBoundingClientRect();
			setSize((old) => (old && old.width === width && old.height === height ? old : { width, height }));
		};
		measure();
		const observer = new ResizeObserver(measure);
		observer.observe(element);
		return () => observer.disconnect();
	}, []);

	const layout = size ? bestLayout(count, size.width, size.height) : null;
	const style: CSSProperties = layout
		? {
				gridTemplateColumns: `repeat(${layout.cols}, ${layout.width}px)`,
				gridAutoRows: `${layout.height}px`,
			}
		: { gridTemplateColumns: `repeat(${Math.ceil(Math.sqrt(count))}, minmax(0, 1fr))` };

	return (
		<div className="grid-area" ref={ref}>
			<div className="grid" data-testid="grid" data-count={count} style={style}>
				{children}
			</div>
		</div>
	);
}
