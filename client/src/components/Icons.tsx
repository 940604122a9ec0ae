/** Inline SVG icons (stroke style, currentColor). */
import type { SVGProps } from 'react';

export type IconProps = SVGProps<SVGSVGElement>;

/** The shared frame of every icon (24×24 viewBox, stroke style). */
export function Svg({ children, ...props }: IconProps) {
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

export const ScreenShareIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="2" y="4" width="20" height="13" rx="2" />
		<path d="M8 21h8M12 17v4M12 13V8M9.5 10.5 12 8l2.5 2.5" />
	</Svg>
);

export const ScreenShareOffIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="2" y="4" width="20" height="13" rx="2" />
		<path d="M8 21h8M12 17v4M9.5 8.5l5 5M14.5 8.5l-5 5" />
	</Svg>
);

export const GridIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="3" y="3" width="8" height="8" rx="1.5" />
		<rect x="13" y="3" width="8" height="8" rx="1.5" />
		<rect x="3" y="13" width="8" height="8" rx="1.5" />
		<rect x="13" y="13" width="8" height="8" rx="1.5" />
	</Svg>
);

export const SpeakerLayoutIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="2" y="3" width="14" height="18" rx="1.5" />
		<rect x="18" y="3" width="4" height="5" rx="1" />
		<rect x="18" y="10" width="4" height="5" rx="1" />
	</Svg>
);

export const StatsIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M3 3v18h18" />
		<path d="M7 15l4-4 3 3 6-6" />
	</Svg>
);

export const PinIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M9 4h6l-1 6 3 3v2H7v-2l3-3-1-6zM12 15v6" />
	</Svg>
);

export const EyeOffIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M3 3l18 18M10.6 6.1A9.8 9.8 0 0 1 12 6c5 0 9 4.5 10 6a17 17 0 0 1-3.2 3.6M6.1 7.4A16.7 16.7 0 0 0 2 12c1 1.5 5 6 10 6a9.6 9.6 0 0 0 4.4-1.1" />
		<path d="M9.9 9.9a3 3 0 0 0 4.2 4.2" />
	</Svg>
);

export const EyeIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M2 12c1-1.5 5-6 10-6s9 4.5 10 6c-1 1.5-5 6-10 6S3 13.5 2 12z" />
		<circle cx="12" cy="12" r="3" />
	</Svg>
);

export const MoreIcon = (p: IconProps) => (
	<Svg {...p}>
		<circle cx="5" cy="12" r="1.5" />
		<circle cx="12" cy="12" r="1.5" />
		<circle cx="19" cy="12" r="1.5" />
	</Svg>
);

export const KeyboardIcon = (p: IconProps) => (
	<Svg {...p}>
		<rect x="2" y="6" width="20" height="12" rx="2" />
		<path d="M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10" />
	</Svg>
);

export const TicketIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M3 8a2 2 0 0 0 2-2h14a2 2 0 0 0 2 2v2a2 2 0 0 0 0 4v2a2 2 0 0 0-2 2H5a2 2 0 0 0-2-2v-2a2 2 0 0 0 0-4z" />
		<path d="M13 6v12" strokeDasharray="2 2" />
	</Svg>
);

export const ChevronUpIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="m6 15 6-6 6 6" />
	</Svg>
);

export const SettingsIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0" />
		<circle cx="16" cy="6" r="2" />
		<circle cx="10" cy="12" r="2" />
		<circle cx="18" cy="18" r="2" />
	</Svg>
);
