/** The HTTP API (GET /api/info, POST /api/dev/token, links and invitations). */
import type {
	DevTokenRequest,
	DevTokenResponse,
	InviteCreateRequest,
	InviteCreateResponse,
	InviteListResponse,
	InviteRedeemResponse,
	LinkCheckRequest,
	LinkCheckResponse,
	MediaPrepareConnectRequest,
	MediaPrepareReleaseRequest,
	MediaPrepareRequest,
	MediaPrepareResponse,
	RoomRecordingResponse,
	RecordingListResponse,
	RtpCapabilities,
	ServerInfoResponse,
} from '../../../signaling/protocol/index.ts';
import { IDENTITY_PATTERN } from '../../../signaling/protocol/limits.ts';

export interface ServerInfo {
	dev: boolean;
	publicUrl: string;
	/** The media routers' capabilities (the lobby loads the media Device from them). */
	rtpCapabilities?: RtpCapabilities;
}

export class ApiError extends Error {
	readonly code: string;
	readonly status: number;
	constructor(code: string, message: string, status: number) {
		super(message);
		this.name = 'ApiError';
		this.code = code;
		this.status = status;
	}
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
	const body = await callOrEmpty<T>(path, init);
	if (body === null) throw new ApiError('internal', `Unexpected answer from ${path}.`, 204);
	return body;
}

/** As call(), and null for 204 No Content. */
async function callOrEmpty<T>(path: string, init?: RequestInit): Promise<T | null> {
	let response: Response;
	try {
		response = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
	} catch {
		throw new ApiError('network', 'Cannot reach the meeting server. Check your connection and try again.', 0);
	}
	let body: unknown = null;
	try {
		body = await response.json();
	} catch {
		// Not JSON (proxy error page...): handled below.
	}
	if (!response.ok) {
		const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
		const code = typeof error?.code === 'string' ? error.code : `http_${response.status}`;
		const message =
			typeof error?.message === 'string' && error.message
				? error.message
				: `The server answered ${response.status} ${response.statusText}`.trim();
		throw new ApiError(code, message, response.status);
	}
	if (response.status === 204) return null;
	if (body === null) throw new ApiError('internal', `Unexpected answer from ${path}.`, response.status);
	return body as T;
}

export async function fetchServerInfo(): Promise<ServerInfo> {
	const info = await call<Partial<ServerInfoResponse>>('/api/info');
	return {
		dev: info.dev === true,
		publicUrl: typeof info.publicUrl === 'string' && info.publicUrl ? info.publicUrl : window.location.origin,
		...(info.rtpCapabilities && typeof info.rtpCapabilities === 'object' ? { rtpCapabilities: info.rtpCapabilities } : {}),
	};
}

export function fetchDevToken(request: DevTokenRequest): Promise<DevTokenResponse> {
	return call<DevTokenResponse>('/api/dev/token', {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(request),
	});
}

/**
 * This tab's identity for dev tokens: stable across rejoins and reloads of the tab (so the
 * server sees the same participant come back), different in another tab.
 */
export function tabIdentity(): string {
	const key = 'parley.identity';
	try {
		const saved = window.sessionStorage.getItem(key);
		if (saved && IDENTITY_PATTERN.test(saved)) return saved;
	} catch {
		// No storage: a fresh identity per call is fine.
	}
	const bytes = crypto.getRandomValues(new Uint8Array(8));
	const identity = `u-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
	try {
		window.sessionStorage.setItem(key, identity);
	} catch {
		// See above.
	}
	return identity;
}

/** Whether a join token or an invitation works here (the lobby says at once when it does not). */
export function checkLink(request: LinkCheckRequest): Promise<LinkCheckResponse> {
	return call<LinkCheckResponse>('/api/links/check', {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(request),
	});
}

/** An invitation and one's name for one's own join token. */
export function redeemInvite(invite: string, name: string): Promise<InviteRedeemResponse> {
	return call<InviteRedeemResponse>('/api/invites/redeem', {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ invite, name }),
	});
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export function createInvite(token: string, request: InviteCreateRequest = {}): Promise<InviteCreateResponse> {
	return call<InviteCreateResponse>('/api/invites', {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...bearer(token) },
		body: JSON.stringify(request),
	});
}

export function listInvites(token: string): Promise<InviteListResponse> {
	return call<InviteListResponse>('/api/invites', { headers: bearer(token) });
}

export async function revokeInvite(token: string, id: string): Promise<void> {
	await call<Record<string, never>>(`/api/invites/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) });
}

/** Whether a meeting is being recorded (the lobby's consent notice); `credential`: the link's token or invitation. */
export function fetchRoomRecording(room: string, credential: string | null): Promise<RoomRecordingResponse> {
	return call<RoomRecordingResponse>(`/api/rooms/${encodeURIComponent(room)}/recording`, credential ? { headers: bearer(credential) } : undefined);
}

/** A host's list of the meeting's recordings (the join token says which room). */
export function listRecordings(room: string, token: string): Promise<RecordingListResponse> {
	return call<RecordingListResponse>(`/api/rooms/${encodeURIComponent(room)}/recordings`, { headers: bearer(token) });
}

/** A receive connection prepared in the lobby (signaling/http/prepare.ts); null: nothing to prepare. */
export function prepareMedia(token: string, request: MediaPrepareRequest): Promise<MediaPrepareResponse | null> {
	return callOrEmpty<MediaPrepareResponse>('/api/media/prepare', {
		method: 'POST',
		headers: { ...bearer(token), 'content-type': 'application/json' },
		body: JSON.stringify(request),
	});
}

/**
 * The lobby is left without joining: the server closes the prepared connection now rather
 * than at its expiry. `keepalive`: it still goes out as the page closes. Best effort.
 */
export function releasePreparedMedia(token: string, request: MediaPrepareReleaseRequest): void {
	void callOrEmpty<Record<string, never>>('/api/media/prepare/release', {
		method: 'POST',
		keepalive: true,
		headers: { ...bearer(token), 'content-type': 'application/json' },
		body: JSON.stringify(request),
	}).catch((error: unknown) => console.debug('[parley] could not release the prepared connection', error));
}

export async function connectPreparedMedia(token: string, request: MediaPrepareConnectRequest): Promise<void> {
	await callOrEmpty<Record<string, never>>('/api/media/prepare/connect', {
		method: 'POST',
		headers: { ...bearer(token), 'content-type': 'application/json' },
		body: JSON.stringify(request),
	});
}
