import { startTransition, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DevTokenResponse } from '../../signaling/protocol/index.ts';
import { ApiError, fetchDevToken, fetchServerInfo, tabIdentity, type ServerInfo } from './lib/api.ts';
import { peekToken, randomRoomName, roomFromPath, roomLink, roomPath, tokenFromUrl, validateRoomName } from './lib/route.ts';
import { takeWarmConnection } from './media/connection.ts';
import { RoomClient } from './media/RoomClient.ts';
import { CallPage } from './pages/CallPage.tsx';
import { JoinPage, type JoinRequest } from './pages/JoinPage.tsx';

export function App() {
	const [info, setInfo] = useState<ServerInfo | null>(null);
	const [infoError, setInfoError] = useState<string | null>(null);
	const [client, setClient] = useState<RoomClient | null>(null);
	const [lastError, setLastError] = useState<string | null>(null);
	const token = useMemo(() => tokenFromUrl(), []);
	const claims = useMemo(() => (token ? peekToken(token) : {}), [token]);
	const [initialRoom] = useState(() => roomFromPath() ?? claims.room ?? randomRoomName());
	/** A dev token fetched while the person is still in the lobby (so that Join does not wait for it). */
	const prefetched = useRef<{ room: string; name: string; at: number; promise: Promise<DevTokenResponse> } | null>(null);

	useEffect(() => {
		let cancelled = false;
		fetchServerInfo().then(
			(result) => {
				if (!cancelled) setInfo(result);
			},
			(error: unknown) => {
				if (cancelled) return;
				setInfoError(error instanceof ApiError ? error.message : 'Cannot reach the meeting server.');
				// Still let the person try: joining will report what is wrong.
				setInfo({ dev: !token, publicUrl: window.location.origin });
			},
		);
		return () => {
			cancelled = true;
		};
	}, [token]);

	// Back to the lobby when the session closes (left, ended by the server, failed to join).
	useEffect(() => {
		if (!client) return;
		const check = (): void => {
			const snapshot = client.getSnapshot();
			if (snapshot.status !== 'closed') return;
			setLastError(snapshot.error?.message ?? null);
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
		document.title = client ? `${client.room} · Parley` : 'Parley';
	}, [client]);

	const requestDevToken = useCallback(
		(room: string, name: string): Promise<DevTokenResponse> => {
			const cached = prefetched.current;
			prefetched.current = null;
			// Dev tokens live for hours; a few minutes old is still fine.
			if (cached && cached.room === room && cached.name === name && Date.now() - cached.at < 5 * 60_000) {
				return cached.promise.catch(() => fetchDevToken({ room, name, identity: tabIdentity() }));
			}
			return fetchDevToken({ room, name, identity: tabIdentity() });
		},
		[],
	);

	const prepareJoin = useCallback(
		(room: string, name: string) => {
			if (!info?.dev || token || validateRoomName(room) || !name) return;
			const cached = prefetched.current;
			if (cached && cached.room === room && cached.name === name && Date.now() - cached.at < 60_000) return;
			const promise = fetchDevToken({ room, name, identity: tabIdentity() });
			promise.catch(() => {});
			prefetched.current = { room, name, at: Date.now(), promise };
		},
		[info, token],
	);

	const handleJoin = useCallback(
		async (request: JoinRequest) => {
			performance.mark('parley:join-click');
			let joinToken = token;
			let room = claims.room ?? request.room;
			if (!joinToken) {
				if (!info?.dev) throw new Error('This server needs an invitation link to join a meeting.');
				try {
					const issued = await requestDevToken(request.room, request.name);
					joinToken = issued.token;
					room = issued.room;
					performance.mark('parley:token-fetched');
				} catch (error) {
					throw new Error(error instanceof ApiError ? `Could not get an access token: ${error.message}` : String(error));
				}
			}
			const tracks = request.takeTracks();
			const next = new RoomClient({
				token: joinToken,
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
			window.history.replaceState(null, '', roomPath(room));
			// Signaling first, then the page switch as a transition: React renders it in slices,
			// so the socket's answers are handled in between instead of after a long render.
			next.join().catch(() => {
				// The snapshot carries the error; the effect above returns to the lobby.
			});
			startTransition(() => {
				setLastError(null);
				setClient(next);
			});
		},
		[token, claims, info, requestDevToken],
	);

	const onLeave = useCallback(() => setClient(null), []);
	const dismissLastError = useCallback(() => setLastError(null), []);

	if (client) {
		return <CallPage client={client} roomLink={roomLink(info?.publicUrl ?? window.location.origin, client.room)} onLeave={onLeave} />;
	}
	return (
		<JoinPage
			info={info}
			infoError={infoError}
			initialRoom={initialRoom}
			token={token}
			tokenRoom={claims.room ?? null}
			tokenName={claims.name ?? null}
			lastError={lastError}
			onDismissLastError={dismissLastError}
			onJoin={handleJoin}
			onPrepare={prepareJoin}
		/>
	);
}
