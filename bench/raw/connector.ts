/**
 * Bots against the raw-mediasoup harness (bench/raw/server.ts), forked as a child
 * process and driven over IPC. Same bots, same SDP handling as Parley; no Socket.IO.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ProducerInfo } from '../../signaling/protocol/index.ts';
import type { SessionOptions, SfuConnector, SfuSession } from '../bot/connector.ts';
import { MediasoupSession, type MediasoupSignaling } from '../bot/mediasoup.ts';

type Reply = { id: number; result?: unknown; error?: string };
type Notice = { peer: string; event: 'newproducer'; data: ProducerInfo };

export class RawMediasoupConnector implements SfuConnector {
	readonly name = 'mediasoup';
	readonly localAddress = '127.0.0.1';
	readonly child: ChildProcess;
	workerPid = 0;
	#nextId = 1;
	readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
	readonly #listeners = new Map<string, (p: ProducerInfo) => void>();

	private constructor(child: ChildProcess) {
		this.child = child;
		child.on('message', (msg: Reply | Notice | { ready: { workerPid: number } }) => {
			if ('ready' in msg) return;
			if ('event' in msg) {
				this.#listeners.get(msg.peer)?.(msg.data);
				return;
			}
			const p = this.#pending.get(msg.id);
			if (!p) return;
			this.#pending.delete(msg.id);
			if (msg.error !== undefined) p.reject(new Error(msg.error));
			else p.resolve(msg.result);
		});
		child.on('exit', () => {
			for (const p of this.#pending.values()) p.reject(new Error('raw mediasoup harness exited'));
			this.#pending.clear();
		});
	}

	/** Fork the harness; resolves once its worker is up. */
	static async start(port: number): Promise<RawMediasoupConnector> {
		const child = fork(path.join(import.meta.dirname, 'server.ts'), [], {
			env: { ...process.env, RAW_PORT: String(port), RAW_LISTEN_IP: '127.0.0.1' },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		const connector = new RawMediasoupConnector(child);
		connector.workerPid = await new Promise<number>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('raw mediasoup harness did not start')), 15_000);
			child.on('message', (m: { ready?: { workerPid: number } }) => {
				if (m.ready) {
					clearTimeout(timer);
					resolve(m.ready.workerPid);
				}
			});
			child.once('exit', (code) => reject(new Error(`raw mediasoup harness exited (${code})`)));
		});
		return connector;
	}

	request<T>(peer: string, room: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
		const id = this.#nextId++;
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(new Error(`${method}: timeout`));
			}, 15_000);
			this.#pending.set(id, {
				resolve: (v) => {
					clearTimeout(timer);
					resolve(v as T);
				},
				reject: (e) => {
					clearTimeout(timer);
					reject(e);
				},
			});
			this.child.send({ id, peer, room, method, params });
		});
	}

	async connect(options: SessionOptions): Promise<SfuSession> {
		const { identity, room } = options;
		const call = <T>(method: string, params?: Record<string, unknown>) => this.request<T>(identity, room, method, params);
		const sig: MediasoupSignaling = {
			getRouterRtpCapabilities: () => call('getRouterRtpCapabilities'),
			join: async (rtpCapabilities) => ({ producers: await call<ProducerInfo[]>('join', { rtpCapabilities }) }),
			createTransport: (direction) => call('createTransport', { direction }),
			connectTransport: async (transportId, dtlsParameters) => {
				await call('connectTransport', { transportId, dtlsParameters });
			},
			produce: async (transportId, kind, rtpParameters) =>
				(await call<{ producerId: string }>('produce', { transportId, kind, rtpParameters })).producerId,
			consume: (transportId, producerId) => call('consume', { transportId, producerId }),
			resumeConsumer: async (consumerId) => {
				await call('resumeConsumer', { consumerId });
			},
			onNewProducer: (listener) => {
				this.#listeners.set(identity, listener);
			},
			close: async () => {
				this.#listeners.delete(identity);
				if (this.child.connected) await call('leave').catch(() => {});
			},
		};
		return MediasoupSession.open(identity, sig);
	}

	async close(): Promise<void> {
		if (this.child.exitCode !== null) return;
		const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
		this.child.disconnect();
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
		await exited;
		clearTimeout(timer);
	}
}
