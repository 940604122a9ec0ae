/**
 * A UDP relay with random loss and delay, between one participant's browser and the SFU's
 * media port: a reliable, per-participant stand-in for a bad network (CDP network
 * emulation applied to WebRTC only now and then on this machine). The participant's page
 * is made to use it by rewriting the SFU's ICE candidates in the remote SDP (an init
 * script, `useProxyFor`): its UDP candidate points at the relay and the TCP one is
 * dropped. Signaling (the WebSocket) is not touched, so a "cut" (100% loss) is an
 * ICE-level outage only.
 */
import dgram from 'node:dgram';
import type { BrowserContext } from '@playwright/test';
import config from './playwright.config.ts';

export interface ProxyConditions {
	/** Random loss in each direction, percent. */
	lossPercent: number;
	/** Added one-way delay in each direction, ms (RTT grows by twice this). */
	delayMs: number;
}

export class LossyUdpProxy {
	conditions: ProxyConditions = { lossPercent: 0, delayMs: 0 };
	readonly counters = { forwarded: 0, dropped: 0 };
	private readonly downstream = dgram.createSocket('udp4');
	private readonly upstreams = new Map<string, dgram.Socket>();
	private readonly target: { host: string; port: number };
	private closed = false;

	constructor(target: { host: string; port: number }) {
		this.target = target;
	}

	/** Starts listening on 127.0.0.1 (a free port); resolves with that port. */
	async start(): Promise<number> {
		this.downstream.on('message', (message, from) => this.toServer(message, from));
		await new Promise<void>((resolve) => this.downstream.bind(0, '127.0.0.1', resolve));
		return this.downstream.address().port;
	}

	set(conditions: Partial<ProxyConditions>): void {
		this.conditions = { ...this.conditions, ...conditions };
	}

	private pass(send: () => void): void {
		if (this.closed) return;
		const { lossPercent, delayMs } = this.conditions;
		if (lossPercent > 0 && Math.random() * 100 < lossPercent) {
			this.counters.dropped++;
			return;
		}
		this.counters.forwarded++;
		if (delayMs > 0) setTimeout(() => !this.closed && send(), delayMs);
		else send();
	}

	private toServer(message: Buffer, from: dgram.RemoteInfo): void {
		const key = `${from.address}:${from.port}`;
		let upstream = this.upstreams.get(key);
		if (!upstream) {
			// One upstream socket per browser socket, so the SFU sees one tuple per ICE candidate.
			const socket = dgram.createSocket('udp4');
			socket.on('message', (reply) => this.pass(() => this.downstream.send(reply, from.port, from.address)));
			socket.on('error', () => {});
			socket.bind(0, '127.0.0.1');
			this.upstreams.set(key, socket);
			upstream = socket;
		}
		const socket = upstream;
		this.pass(() => socket.send(message, this.target.port, this.target.host));
	}

	close(): void {
		this.closed = true;
		for (const socket of this.upstreams.values()) socket.close();
		this.upstreams.clear();
		this.downstream.close();
	}
}

/**
 * Init script: in every remote SDP, the SFU's UDP candidate on `from` is moved to the
 * relay's port `to`, and TCP candidates are removed (no way around the relay).
 */
function rewriteCandidates({ from, to }: { from: number; to: number }): void {
	type Description = { type: string; sdp?: string };
	type PcProto = { setRemoteDescription(this: unknown, d: Description, ...rest: unknown[]): Promise<void> };
	const g = globalThis as unknown as { RTCPeerConnection: { prototype: PcProto } };
	const proto = g.RTCPeerConnection.prototype;
	const original = proto.setRemoteDescription;
	proto.setRemoteDescription = function (this: unknown, description: Description, ...rest: unknown[]) {
		if (description?.sdp) {
			const sdp = description.sdp
				.split('\r\n')
				.filter((line) => !(line.startsWith('a=candidate:') && / tcp /i.test(line)))
				.map((line) => (line.startsWith('a=candidate:') ? line.replace(` ${from} typ `, ` ${to} typ `) : line))
				.join('\r\n');
			description = { type: description.type, sdp };
		}
		return original.call(this, description, ...rest);
	};
}

/** Route a participant's media through a new relay; returns it (close it after the test). */
export async function useProxyFor(context: BrowserContext, mediaPort: number): Promise<LossyUdpProxy> {
	const proxy = new LossyUdpProxy({ host: '127.0.0.1', port: mediaPort });
	const port = await proxy.start();
	await context.addInitScript(rewriteCandidates, { from: mediaPort, to: port });
	return proxy;
}

/** The SFU's UDP media port of the test server (one worker: the base port). */
export function testMediaPort(): number {
	const server = Array.isArray(config.webServer) ? config.webServer[0] : config.webServer;
	const port = Number(server?.env?.PARLEY_MEDIA_BASE_PORT);
	if (!Number.isInteger(port) || port <= 0) throw new Error('no PARLEY_MEDIA_BASE_PORT in the Playwright config');
	return port;
}
