/** Inline SVG icons (stroke style, currentColor). */
import type { SVGProps } from 'react';

type IconProps = SVGProps<SVGSVGElement>;

function Svg({ children, ...props }: IconProps) {
	return (
		<svg
			viewBox="0 0 24 24"
			width="20"
			height="20"
			fill="none"
			stroke="currentColor"
			strokeWidth="2"
			strokeLinecap="round"
			strokeLinejoin="round"
			aria-hidden="true"
			focusable="false"
			{...props}
		>
			{children}
		</svg>
	);
}

export const MicIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="9" y="2" width="6" height="12" rx="3" />
		<path d="M5 10v1a7 7 0 0 0 14 0v-1M12 18v4M8 22h8" />
	</Svg>
);

export const MicOffIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M15 9.34V5a3 3 0 0 0-5.68-1.33M9 9v2a3 3 0 0 0 5.12 2.12" />
		<path d="M19 10v1a7 7 0 0 1-.78 3.2M5 10v1a7 7 0 0 0 11.73 5.15M12 18v4M8 22h8M2 2l20 20" />
	</Svg>
);

export const CameraIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="2" y="6" width="14" height="12" rx="2" />
		<path d="m16 10 6-3.5v11L16 14" />
	</Svg>
);

export const CameraOffIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M10.66 6H14a2 2 0 0 1 2 2v2.34l1 1L22 7v10M16 16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2" />
		<path d="M2 2l20 20" />
	</Svg>
);

export const LinkIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M10 13a5 5 0 0 0 7.54.54l3-3a5 5 0 0 0-7.07-7.07l-1.72 1.71" />
		<path d="M14 11a5 5 0 0 0-7.54-.54l-3 3a5 5 0 0 0 7.07 7.07l1.71-1.71" />
	</Svg>
);

export const LeaveIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M10.7 13.3a16 16 0 0 0 3.4 2.6l1.3-1.3a2 2 0 0 1 2.1-.45 12.8 12.8 0 0 0 2.8.7A2 2 0 0 1 22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.13.96.36 1.9.7 2.8a2 2 0 0 1-.45 2.1L8 9.9" transform="rotate(135 12 12)" />
	</Svg>
);

export const UsersIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2" />
		<circle cx="9" cy="7" r="4" />
		<path d="M22 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75" />
	</Svg>
);

export const AlertIcon = (p: IconProps) => (
	<Svg {...p}>
		<circle cx="12" cy="12" r="10" />
		<path d="M12 8v4M12 16h.01" />
	</Svg>
);

export const CloseIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M18 6 6 18M6 6l12 12" />
	</Svg>
);

export const SpeakerIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M11 5 6 9H2v6h4l5 4V5z" />
		<path d="M15.54 8.46a5 5 0 0 1 0 7.07M19.07 4.93a10 10 0 0 1 0 14.14" />
	</Svg>
);
