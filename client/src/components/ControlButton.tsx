/** A control-bar button: an icon and its label (`className` defaults to "control"). */
import type { ButtonHTMLAttributes, ReactNode } from 'react';

export interface ControlButtonProps extends Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type' | 'children'> {
	icon: ReactNode;
	label: ReactNode;
}

export function ControlButton({ icon, label, className = 'control', ...rest }: ControlButtonProps) {
	return (
		<button type="button" className={className} {...rest}>
			{icon}
			<span className="control-label">{label}</span>
		</button>
	);
}

export interface MediaToggleProps {
	/** The medium (microphone, camera) is on: the button is "off" and pressed while it is not. */
	on: boolean;
	disabled: boolean;
	onToggle: () => void;
	ariaLabel: string;
	title: string;
	icon: ReactNode;
	label: ReactNode;
	testId: string;
}

/** The microphone or camera button of the control bar. */
export function MediaToggle({ on, disabled, onToggle, ariaLabel, title, icon, label, testId }: MediaToggleProps) {
	return (
		<ControlButton
			className={`control${on ? '' : ' off'}`}
			onClick={onToggle}
			disabled={disabled}
			aria-pressed={!on}
			aria-label={ariaLabel}
			title={title}
			data-testid={testId}
			data-state={on ? 'on' : 'off'}
			icon={icon}
			label={label}
		/>
	);
}
