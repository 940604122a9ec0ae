/**
 * The lobby's look at the link it was opened with (?token= or ?invite=): broken or expired
 * links are told at once (from the link itself), others after the server's check.
 */
import { useEffect, useState } from 'react';
import { checkLink } from './api.ts';
import { describeLinkProblem, quickCheck, type LinkKind } from './links.ts';

export interface LinkState {
	kind: LinkKind | null;
	/** What is wrong with the link, in plain words; null when it works (or is still being checked). */
	problem: string | null;
	checking: boolean;
	/** The room an invitation admits to (once checked). */
	room: string | null;
}

export function useLinkCheck(token: string | null, invite: string | null): LinkState {
	const kind: LinkKind | null = token ? 'token' : invite ? 'invite' : null;
	const value = token ?? invite;
	const [state, setState] = useState<LinkState>(() => {
		if (!kind || !value) return { kind: null, problem: null, checking: false, room: null };
		const quick = quickCheck(value);
		return quick
			? { kind, problem: describeLinkProblem(kind, quick.problem, quick.expiredAt), checking: false, room: null }
			: { kind, problem: null, checking: true, room: null };
	});

	useEffect(() => {
		if (!kind || !value || !state.checking) return;
		let cancelled = false;
		checkLink(kind === 'token' ? { token: value } : { invite: value }).then(
			(answer) => {
				if (cancelled) return;
				setState(
					answer.valid
						? { kind, problem: null, checking: false, room: answer.room }
						: { kind, problem: describeLinkProblem(kind, answer.reason), checking: false, room: null },
				);
			},
			() => {
				// The server could not be asked: joining will tell.
				if (!cancelled) setState((s) => ({ ...s, checking: false }));
			},
		);
		return () => {
			cancelled = true;
		};
	}, [kind, value, state.checking]);

	return state;
}
