/**
 * The receive connection prepared while the person is in the lobby (LiveKit's "prepare
 * connection"): with their join token and the preloaded Device, the server opens a receive
 * transport (POST /api/media/prepare) and this page negotiates its data channel, which gets
 * ICE and DTLS done before Join is clicked. With the Device's capabilities, the server also
 * makes paused consumers of the meeting's media on it (for someone who would go straight in),
 * which this page negotiates here too. room:join then names the transport (`prepared`), resumes
 * those consumers itself and adds the rest: the first remote frame waits for no connection
 * set-up and, for the media prepared here, for no SDP negotiation either.
 *
 * Best effort: whatever goes wrong (nothing to prepare, another Device, an expired or failed
 * transport, a server answering a new one), the join opens its receive transport as before.
 */
import type { Device, types as msc } from 'mediasoup-client';
import { connectPreparedMedia, prepareMedia, releasePreparedMedia } from '../lib/api.ts';
import { preloadedDevice } from './device.ts';
import { mark } from './marks.ts';
import { wire } from './wire.ts';

export interface PreparedReceive {
	device: Device;
	transport: msc.Transport;
	/** Consumers negotiated in the lobby, by id (the join answer says whose they are). */
	consumers: ReadonlyMap<string, msc.Consumer>;
}

interface Entry {
	token: string;
	/** The prepared receive side once negotiated; null when there is nothing to prepare or it failed. */
	ready: Promise<PreparedReceive | null>;
	/** Closed (expired, replaced, taken by nobody) after this time (epoch ms). */
	expiresAt: number;
	timer?: ReturnType<typeof setTimeout>;
	/** How many expired ones this one replaces. */
	renewals: number;
	/** The server answered with this transport (it exists here, its first negotiation is under way). */
	answered?: string;
	/** Given up (replaced, expired, the lobby left): what it made is closed. */
	discarded?: boolean;
	/** The server prepared consumers: it would have let this person straight in (no lock, no waiting room). */
	straightIn?: boolean;
}

/** A join waits this long at most for a preparation whose transport is still negotiating (not for the server's answer). */
const TAKE_WAIT_MS = 150;
/** Given up a little before the server closes it. */
const EXPIRY_MARGIN_MS = 5000;
/** A lobby left open prepares again when one expires, this many times at most. */
const MAX_RENEWALS = 10;

let current: Entry | null = null;

/** Prepare the receive connection for this token (again only if the last one is gone). */
export function prepareReceive(token: string, renewals = 0): void {
	if (current?.token === token && current.expiresAt > Date.now()) return;
	discardPreparedReceive();
	const entry: Entry = { token, renewals, ready: Promise.resolve(null), expiresAt: Date.now() + 60_000 };
	entry.ready = open(entry).catch((error: unknown) => {
		console.debug('[parley] could not prepare the receive connection; the join will open it', error);
		return null;
	});
	current = entry;
}

async function open(entry: Entry): Promise<PreparedReceive | null> {
	const loaded = await preloadedDevice();
	if (!loaded || entry.discarded) return null;
	const answer = await prepareMedia(entry.token, { rtpCapabilities: loaded.device.recvRtpCapabilities });
	if (!answer || entry.discarded) return null;
	entry.answered = answer.transport.id;
	entry.straightIn = (answer.consumers?.length ?? 0) > 0;
	const { device } = loaded;
	const transport = device.createRecvTransport({
		...wire.transportOptions(answer.transport),
		iceServers: answer.transport.iceServers,
		...(answer.transport.sctpParameters ? { sctpParameters: answer.transport.sctpParameters } : {}),
	});
	transport.on('connect', ({ dtlsParameters }, callback) => {
		// Not waited for, as for any transport: the DTLS parameters are on their way before the
		// browser's first ICE check. A failure leaves the transport unconnected, and unused.
		connectPreparedMedia(entry.token, { transportId: transport.id, dtlsParameters }).catch((error: unknown) => {
			console.debug('[parley] prepared receive connection refused', error);
			if (current === entry) discardPreparedReceive();
		});
		callback();
	});
	entry.expiresAt = Date.now() + Math.max(0, answer.expiresInMs - EXPIRY_MARGIN_MS);
	entry.timer = setTimeout(() => {
		if (current !== entry) return;
		discardPreparedReceive();
		// Still in the lobby: a fresh one (for 20 minutes or so; the join does without after that).
		if (entry.renewals < MAX_RENEWALS) prepareReceive(entry.token, entry.renewals + 1);
	}, entry.expiresAt - Date.now());
	const consumers = new Map<string, msc.Consumer>();
	try {
		// One negotiation for the data channel and the consumers (mediasoup-client gathers calls made together).
		await Promise.all([
			transport.consumeData({ ...answer.probe, sctpStreamParameters: answer.probe.sctpStreamParameters as msc.SctpStreamParameters }),
			...(answer.consumers ?? []).map(async (options) => {
				// One person's camera and microphone share a stream (the browser syncs their playout);
				// kept in appData: this person's later consumers join it (ConsumerBatcher).
				const streamId = `lobby-${options.streamGroup}`;
				const consumer = await transport.consume({
					id: options.id,
					producerId: options.producerId,
					kind: options.kind,
					rtpParameters: wire.rtpParameters(options.rtpParameters),
					streamId,
					appData: { streamId },
				});
				consumers.set(consumer.id, consumer);
			}),
		]);
	} catch (error) {
		// A failed negotiation leaves the transport unable to negotiate again: the join opens its own.
		transport.close();
		throw error;
	}
	if (entry.discarded) {
		transport.close();
		return null;
	}
	mark('recv-prepared');
	return { device, transport, consumers };
}

/**
 * Whether the server, preparing for this token, said this person goes straight into the meeting
 * (it prepared consumers: no lock, no waiting room then). The join need not wait to hear it again.
 */
export function preparedStraightIn(token: string): boolean {
	return current?.token === token && current.straightIn === true && current.expiresAt > Date.now();
}

/**
 * The prepared receive connection for this token, now owned by the caller (null if none is
 * usable). One still negotiating is waited for a moment (TAKE_WAIT_MS).
 */
export async function takePreparedReceive(token: string): Promise<PreparedReceive | null> {
	const entry = current;
	if (!entry || entry.token !== token) return null;
	current = null;
	clearTimeout(entry.timer);
	if (!entry.answered) {
		// The server has not answered yet: joining without it is sooner.
		entry.discarded = true;
		void entry.ready.then((late) => late?.transport.close());
		return null;
	}
	const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), TAKE_WAIT_MS));
	const prepared = await Promise.race([entry.ready, timeout]);
	if (prepared === 'late') {
		entry.discarded = true;
		void entry.ready.then((late) => late?.transport.close());
		return null;
	}
	if (!prepared) return null;
	const state = prepared.transport.connectionState;
	if (prepared.transport.closed || entry.expiresAt <= Date.now() || state === 'failed' || state === 'disconnected' || state === 'closed') {
		prepared.transport.close();
		return null;
	}
	return prepared;
}

/**
 * Close the prepared connection, if any (a newer token came, it expired, its connect was
 * refused, the page goes), here and on the server: there it would hold the room's cameras at
 * a newcomer's layer until its expiry.
 */
function discardPreparedReceive(): void {
	const entry = current;
	current = null;
	if (!entry) return;
	entry.discarded = true;
	clearTimeout(entry.timer);
	if (entry.answered && entry.expiresAt > Date.now()) releasePreparedMedia(entry.token, { transportId: entry.answered });
	void entry.ready.then((prepared) => prepared?.transport.close());
}

// The lobby closed or left for another page: an untaken preparation goes with it (a join took
// its own already). The server also notices the browser's connection going, later (sfu PreparedReceive).
globalThis.addEventListener?.('pagehide', (event) => {
	if (!(event as PageTransitionEvent).persisted) discardPreparedReceive();
});
