/** The lobby's messages: recording notice, why the last session ended, join and link problems, media access. */
import { mediaDevicesAvailable, type MediaAccessError } from '../media/devices.ts';
import { Banner } from './Banner.tsx';

export interface LobbyMessagesProps {
	/** The meeting is being recorded (consent before entering). */
	recording: boolean;
	lastError: string | null;
	onDismissLastError(): void;
	joinError: string | null;
	onDismissJoinError(): void;
	infoError: string | null;
	linkProblem: string | null;
	dev: boolean;
	needsToken: boolean;
	mediaErrors: readonly MediaAccessError[];
}

export function LobbyMessages({
	recording,
	lastError,
	onDismissLastError,
	joinError,
	onDismissJoinError,
	infoError,
	linkProblem,
	dev,
	needsToken,
	mediaErrors,
}: LobbyMessagesProps) {
	return (
		<div className="lobby-messages">
			{recording && (
				<Banner kind="warning" testId="lobby-recording">
					<span className="recording-dot" aria-hidden="true" /> This meeting is being recorded. By joining, your camera, microphone and screen share may be recorded.
				</Banner>
			)}
			{lastError && (
				<Banner onClose={onDismissLastError} testId="last-error">
					{lastError}
				</Banner>
			)}
			{joinError && (
				<Banner onClose={onDismissJoinError} testId="join-error">
					{joinError}
				</Banner>
			)}
			{infoError && <Banner testId="info-error">{infoError}</Banner>}
			{linkProblem && (
				<Banner kind={dev ? 'warning' : 'error'} testId="link-problem">
					{linkProblem}
					{dev ? ' This server is in dev mode: you can still join, with a new link.' : ''}
				</Banner>
			)}
			{needsToken && (
				<Banner kind="warning" testId="token-missing">
					This server needs an invitation link to join a meeting. Ask the organizer for one.
				</Banner>
			)}
			{!mediaDevicesAvailable() && mediaErrors.length === 0 && (
				<Banner kind="warning">Camera and microphone need a secure page (https). You can still join to watch and listen.</Banner>
			)}
			{mediaErrors.map((e) => (
				<Banner kind="warning" key={e.message} testId="media-error">
					{e.message}
				</Banner>
			))}
		</div>
	);
}
