/** Icons of the chat (stroke style, currentColor), like components/Icons.tsx. */
import { Svg, type IconProps } from '../Icons.tsx';

export { AlertIcon, CloseIcon } from '../Icons.tsx';

export const ChatIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.6A8 8 0 1 1 21 12z" />
	</Svg>
);

export const PaperclipIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="m21.4 11.1-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
	</Svg>
);

export const SendIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z" />
	</Svg>
);

export const FileIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z" />
		<path d="M14 2v6h6M12 18v-6M9 15l3 3 3-3" />
	</Svg>
);

export const ClockIcon = (p: IconProps) => (
	<Svg {...p}>
		<circle cx="12" cy="12" r="9" />
		<path d="M12 7v5l3 2" />
	</Svg>
);

export const CheckIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M4 12.5 9 17.5 20 6.5" />
	</Svg>
);

export const DoubleCheckIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M1.5 12.5 6.5 17.5 17 7" />
		<path d="M11.5 16.5l1 1L23 7" />
	</Svg>
);

export const ArrowDownIcon = (p: IconProps) => (
	<Svg {...p}>
		<path d="M12 5v14M6 13l6 6 6-6" />
	</Svg>
);
