import { startTransition, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DevTokenResponse } from '../../signaling/protocol/index.ts';
import { ApiError, createInvite, fetchDevToken, fetchServerInfo, redeemInvite, tabIdentity, type ServerInfo } from './lib/api.ts';
import { useLinkCheck } from './lib/useLinkCheck.ts';
import { inviteFromUrl, peekToken, randomRoomName, roomFromPath, roomLink, roomPath, tokenFromUrl, validateRoomName } from './lib/route.ts';
import { takeWarmConnection } from './media/connection.ts';
import { capture } from './media/devices.ts';
import { prepareReceive, preloadDevice, RoomClient } from './media/RoomClient.ts';
import { mark } from './media/marks.ts';
import { wire } from './media/wire.ts';
import { attachMeeting } from './meeting/attach.ts';
import { chatResourcesFor } from './components/chat/useChat.ts';
import type { MeetingClient } from './meeting/MeetingClient.ts';
import { CallPage, type InviteLink } from './pages/CallPage.tsx';
import { JoinPage, type JoinRequest } from './pages/JoinPage.tsx';
import { LeftPage } from './pages/LeftPage.tsx';

/** What the last join used, for Rejoin and for making invitation links. */
interface Joined {
	room: string;
	name: string;
	token: string;
	role: string;
	micOn: boolean;
	cameraOn: boolean;
	audioDeviceId?: string;
	videoDeviceId?: string;
}

export function App() {
	const [info, setInfo] = useState<ServerInfo | null>(null);
	const [infoError, setInfoError] = useState<string | null>(null);
	const [client, setClient] = useState<RoomClient | null>(null);
	const [lastError, setLastError] = useState<string | null>(null);
	const [left, setLeft] = useState<Joined | null>(null);
	const token = useMemo(() => tokenFromUrl(), []);
	const invite = useMemo(() => (token ? null : inviteFromUrl()), [token]);
	const link = useLinkCheck(token, invite);
	const claims = useMemo(() => (token && !link.problem ? peekToken(token) : {}), [token, link.problem]);
	const [initialRoom] = useState(() => roomFromPath() ?? claims.room ?? randomRoomName());
	/** A dev token fetched while the person is still in the lobby (so that Join does not wait for it). */
	const prefetched = useRef<{ room: string; name: string; at: number; promise: Promise<DevTokenResponse> } | null>(null);
	/** The invitation redeemed in the lobby for the name typed (its token prepares the receive connection). */
	const redeeming = useRef<{ name: string; promise: Promise<{ token: string; room: string }> } | null>(null);
	const joined = useRef<Joined | null>(null);
	/** Dev mode ignores a broken ?token= (a new dev token is minted); elsewhere a broken link blocks Join. */
	const usableToken = token && !link.problem ? token : null;

	useEffect(() => {
		let cancelled = false;
		fetchServerInfo().then(
			(result) => {
				// The media Device, loaded while the person is in the lobby (a fresh browser's first join waited for it).
				if (result.rtpCapabilities) preloadDevice(wire.rtpCapabilities(result.rtpCapabilities));
				if (!cancelled) setInfo(result);
			},
			(error: unknown) => {
				if (cancelled) return;
				setInfoError(error instanceof ApiError ? error.message : 'Cannot reach the meeting server.');
				// Still let the person try: joining will report what is wrong.
				setInfo({ dev: !token && !invite, publicUrl: window.location.origin });
			},
		);
		return () => {
			cancelled = true;
		};
	}, [token, invite]);

	// Back to the lobby when the session closes (ended by the server, failed to join), or to
	// the "you left" screen when the person left.
	useEffect(() => {
		if (!client) return;
		const check = (): void => {
			const snapshot = client.getSnapshot();
			if (snapshot.status !== 'closed') return;
			setLastError(snapshot.error?.message ?? null);
			if (!snapshot.error && joined.current) setLeft(joined.current);
			setClient((current) => (current === client ? null : current));
		};
		check();
		const unsubscribe = client.subscribe(check);
		const onPageHide = (): void => client.close();
		window.addEventListener('pagehide', onPageHide);
		return () => {
			unsubscribe();
			window.removeEventListener('pagehide', onPageHide);
		};
	}, [client]);

	useEffect(() => {
		document.title = client ? `${client.room} · Parley` : left ? 'You left · Parley' : 'Parley';
	}, [client, left]);

	const requestDevToken = useCallback((room: string, name: string): Promise<DevTokenResponse> => {
		const cached = prefetched.current;
		prefetched.current = null;
		// Dev tokens live for hours; a few minutes old is still fine.
		if (cached && cached.room === room && cached.name === name && Date.now() - cached.at < 5 * 60_000) {
			return cached.promise.catch(() => fetchDevToken({ room, name, identity: tabIdentity() }));
		}
		return fetchDevToken({ room, name, identity: tabIdentity() });
	}, []);

	/**
	 * Getting ready in the lobby: the join token (dev mode), and with it the receive connection
	 * (preparedReceive.ts: ICE and DTLS done before Join is clicked).
	 */
	const prepareJoin = useCallback(
		(room: string, name: string) => {
			if (!info) return;
			if (usableToken) {
				prepareReceive(usableToken);
				return;
			}
			if (invite) {
				if (link.problem || name.length > 64) return;
				const cachedInvite = redeemedInvite(invite, name);
				if (cachedInvite) {
					prepareReceive(cachedInvite.token);
					return;
				}
				// Redeemed now rather than at the click (an invitation is not used up by it: each
				// redemption is a fresh identity), so the lobby can prepare with its token.
				if (redeeming.current?.name === name) return;
				const promise = redeemInvite(invite, name).then((issued) => {
					rememberInvite(invite, name, issued);
					return { token: issued.token, room: issued.room };
				});
				const entry = { name, promise };
				redeeming.current = entry;
				promise.then(
					({ token }) => {
						if (redeeming.current === entry) prepareReceive(token);
					},
					() => {
						if (redeeming.current === entry) redeeming.current = null;
					},
				);
				return;
			}
			if (!info.dev || validateRoomName(room) || !name) return;
			const cached = prefetched.current;
			if (cached && cached.room === room && cached.name === name && Date.now() - cached.at < 60_000) return;
			const promise = fetchDevToken({ room, name, identity: tabIdentity() });
			promise.then(({ token }) => {
				if (prefetched.current?.promise === promise) prepareReceive(token);
			}, () => {});
			prefetched.current = { room, name, at: Date.now(), promise };
		},
		[info, usableToken, invite, link.problem],
	);

	/** The join token for this join: the link's, one for the invitation, or (dev) a minted one. */
	const tokenFor = useCallback(
		async (room: string, name: string): Promise<{ token: string; room: string }> => {
			if (usableToken) return { token: usableToken, room: claims.room ?? room };
			if (invite) {
				if (link.problem) throw new Error(link.problem);
				try {
					const cached = redeemedInvite(invite, name);
					if (cached) return cached;
					// The lobby's redemption for this name, if it is still on its way.
					const pending = redeeming.current?.name === name ? redeeming.current.promise : null;
					if (pending) {
						const lobby = await pending.catch(() => null);
						if (lobby) return lobby;
					}
					const issued = await redeemInvite(invite, name);
					rememberInvite(invite, name, issued);
					return { token: issued.token, room: issued.room };
				} catch (error) {
					throw new Error(error instanceof ApiError ? `This invitation could not be used: ${error.message}` : String(error));
				}
			}
			if (!info?.dev) throw new Error(link.problem ?? 'This server needs an invitation link to join a meeting.');
			try {
				const issued = await requestDevToken(room, name);
				performance.mark('parley:token-fetched');
				return { token: issued.token, room: issued.room };
			} catch (error) {
				throw new Error(error instanceof ApiError ? `Could not get an access token: ${error.message}` : String(error));
			}
		},
		[usableToken, claims, invite, link.problem, info, requestDevToken],
	);

	const start = useCallback(
		(
			session: { token: string; room: string },
			request: Omit<JoinRequest, 'takeTracks' | 'room'>,
			tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null },
		) => {
			const { room } = session;
			joined.current = {
				room,
				name: request.name,
				token: session.token,
				role: peekToken(session.token).role ?? 'participant',
				micOn: request.micOn,
				cameraOn: request.cameraOn,
				...(request.audioDeviceId ? { audioDeviceId: request.audioDeviceId } : {}),
				...(request.videoDeviceId ? { videoDeviceId: request.videoDeviceId } : {}),
			};
			let meeting: MeetingClient | null = null;
			const next = new RoomClient({
				// In a meeting with a waiting room, the media join waits until a host lets us in.
				admission: () => meeting?.admitted() ?? Promise.resolve(),
				token: session.token,
				room,
				name: request.name,
				manager: takeWarmConnection(),
				audioTrack: tracks.audio,
				videoTrack: tracks.video,
				micOn: request.micOn,
				cameraOn: request.cameraOn,
				...(request.audioDeviceId ? { audioDeviceId: request.audioDeviceId } : {}),
				...(request.videoDeviceId ? { videoDeviceId: request.videoDeviceId } : {}),
			});
			// Before connecting: the server tells right on connection whether we wait, and sends
			// its presence snapshot (a warm connection connects before the call page renders).
			meeting = attachMeeting(next);
			chatResourcesFor(next);
			window.history.replaceState(null, '', roomPath(room));
			next.join().catch(() => {
				// The snapshot carries the error; the effect above returns to the lobby.
			});
			// The call page is heavy to put up (100-700 ms of the page's thread on a loaded machine,
			// measured by e2e/join-timing.spec.ts): rendered during the join, it held up the answers
			// and the consumers' negotiation, the first remote frame's critical path. So the lobby
			// says "Joining…" until the receive side is set up (then the page renders while ICE, DTLS
			// and the first keyframe are on their way), at once for the waiting room or a failure,
			// and after SHOW_CALL_PAGE_MAX_MS at most. Then as a transition: rendered in slices.
			void callPageReady(next, meeting).then(() => {
				mark('call-page-switch');
				startTransition(() => {
					setLastError(null);
					setLeft(null);
					setClient(next);
				});
			});
		},
		[],
	);

	const handleJoin = useCallback(
		async (request: JoinRequest) => {
			performance.mark('parley:join-click');
			const session = await tokenFor(request.room, request.name);
			start(session, request, request.takeTracks());
		},
		[tokenFor, start],
	);

	const rejoin = useCallback(async () => {
		const last = left;
		if (!last) return;
		const tracks = await capture({
			audio: true,
			video: last.cameraOn,
			...(last.audioDeviceId ? { audioDeviceId: last.audioDeviceId } : {}),
			...(last.videoDeviceId ? { videoDeviceId: last.videoDeviceId } : {}),
		});
		if (tracks.audio) tracks.audio.enabled = last.micOn;
		const session = info?.dev && !usableToken && !invite ? await tokenFor(last.room, last.name) : { token: last.token, room: last.room };
		start(session, { ...last, micOn: last.micOn && !!tracks.audio, cameraOn: last.cameraOn && !!tracks.video }, tracks);
	}, [left, info, usableToken, invite, tokenFor, start]);

	/** The link to share from the call: the room link in dev mode, an invitation in production. */
	const inviteLink = useCallback(async (): Promise<InviteLink> => {
		const publicUrl = info?.publicUrl ?? window.location.origin;
		const current = joined.current;
		if (!current) return { ok: false, message: 'Not in a meeting.' };
		if (info?.dev) return { ok: true, url: roomLink(publicUrl, current.room) };
		if (current.role === 'host') {
			try {
				return { ok: true, url: (await createInvite(current.token)).url };
			} catch (error) {
				return { ok: false, message: `Could not make an invitation: ${error instanceof Error ? error.message : String(error)}` };
			}
		}
		// Whoever came in with an invitation may pass it on (it admits anyone who has it).
		if (invite) return { ok: true, url: `${roomLink(publicUrl, current.room)}?invite=${encodeURIComponent(invite)}` };
		return { ok: false, message: 'Only the hosts can invite people to this meeting. Ask one of them for an invitation link.' };
	}, [info, invite]);

	const onLeave = useCallback(() => setClient(null), []);
	const onLeaving = useCallback((state: { micOn: boolean; cameraOn: boolean }) => {
		if (joined.current) joined.current = { ...joined.current, ...state };
	}, []);
	const dismissLastError = useCallback(() => setLastError(null), []);

	if (client) {
		return (
			<CallPage
				client={client}
				inviteLink={inviteLink}
				canManageInvites={!info?.dev && joined.current?.role === 'host'}
				token={joined.current?.token ?? ''}
				onLeaving={onLeaving}
				onLeave={onLeave}
			/>
		);
	}
	if (left) {
		return <LeftPage room={left.room} onRejoin={rejoin} onLobby={() => setLeft(null)} />;
	}
	return (
		<JoinPage
			info={info}
			infoError={infoError}
			initialRoom={initialRoom}
			token={usableToken}
			invited={!!invite && !link.problem}
			link={link}
			tokenRoom={claims.room ?? link.room ?? null}
			tokenName={claims.name ?? null}
			lastError={lastError}
			onDismissLastError={dismissLastError}
			onJoin={handleJoin}
			onPrepare={prepareJoin}
		/>
	);
}

/** The call page waits at most this long for the receive side to be set up (see start). */
const SHOW_CALL_PAGE_MAX_MS = 1500;

/** Settles when the call page should replace the lobby (see start). */
function callPageReady(client: RoomClient, meeting: MeetingClient | null): Promise<void> {
	return new Promise<void>((resolve) => {
		const unsubscribe = meeting?.subscribe(() => {
			const { admission } = meeting.getSnapshot();
			if (admission === 'waiting' || admission === 'denied') done();
		});
		const timer = setTimeout(() => done(), SHOW_CALL_PAGE_MAX_MS);
		function done(): void {
			clearTimeout(timer);
			unsubscribe?.();
			resolve();
		}
		void client.receiveReady.then(done);
	});
}

// An invitation redeemed in this tab is reused on reload and rejoin (the same participant comes back).
const INVITE_KEY = 'parley.invite';

function redeemedInvite(invite: string, name: string): { token: string; room: string } | null {
	try {
		const saved = JSON.parse(window.sessionStorage.getItem(INVITE_KEY) ?? 'null') as
			| { invite: string; name: string; token: string; room: string; expiresAt: number }
			| null;
		if (saved && saved.invite === invite && saved.name === name && saved.expiresAt * 1000 > Date.now() + 60_000) {
			return { token: saved.token, room: saved.room };
		}
	} catch {
		// Nothing usable saved.
	}
	return null;
}

function rememberInvite(invite: string, name: string, issued: { token: string; room: string; expiresAt: number }): void {
	try {
		window.sessionStorage.setItem(INVITE_KEY, JSON.stringify({ invite, name, ...issued }));
	} catch {
		// No storage: the next join redeems again.
	}
}
