/**
 * Drive cascading nodes (bench/cluster/cascadeNode.ts child processes) from a test or the
 * hop benchmark: start them on one Redis, send them commands, send RTP (one-packet VP8
 * keyframes whose last 4 payload bytes are a counter) into a node and receive it where it
 * comes out, on loopback UDP.
 */
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { packetizeVp8 } from '../bot/rtp.ts';
import type { NodeCommand, NodeReply } from './cascadeNode.ts';

/** The VP8 payload type of the plain producers (cascadeNode.ts PAYLOAD_TYPE). */
const PAYLOAD_TYPE = 101;

export interface CascadeNodeProcess {
	id: string;
	pid: number;
	workerPid: number;
	call<T extends Record<string, unknown>>(command: NodeCommand): Promise<T>;
	stop(): Promise<void>;
}

export async function startCascadeNode(id: string, redisUrl: string, ports: { min: number; max: number }): Promise<CascadeNodeProcess> {
	const child: ChildProcess = fork(path.join(import.meta.dirname, 'cascadeNode.ts'), [id, redisUrl, String(ports.min), String(ports.max)], {
		stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
	});
	let next = 1;
	const waiting = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
	const started = new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`cascade node ${id} did not start`)), 20_000);
		child.once('exit', (code) => reject(new Error(`cascade node ${id} exited (${code})`)));
		child.on('message', (reply: NodeReply) => {
			if (reply.id === 0 && reply.ok) {
				clearTimeout(timer);
				resolve(Number(reply.result.workerPid));
				return;
			}
			const w = waiting.get(reply.id);
			if (!w) return;
			waiting.delete(reply.id);
			if (reply.ok) w.resolve(reply.result);
			else w.reject(new Error(`${id}: ${reply.error}`));
		});
	});
	const workerPid = await started;
	return {
		id,
		pid: child.pid!,
		workerPid,
		call: <T extends Record<string, unknown>>(command: NodeCommand) =>
			new Promise<T>((resolve, reject) => {
				const n = next++;
				waiting.set(n, { resolve: resolve as (r: Record<string, unknown>) => void, reject });
				child.send({ id: n, command });
			}),
		stop: async () => {
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.send({ id: next++, command: { cmd: 'exit' } });
			const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
			await exited;
			clearTimeout(timer);
		},
	};
}

/** A VP8 "keyframe" of one RTP packet: frame tag, start code, 640x360, filler; the counter in its last 4 bytes. */
function frame(counter: number, size: number): Buffer {
	const f = Buffer.alloc(size, 0x55);
	Buffer.from([0x50, 0x2d, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]).copy(f);
	f.writeUInt32BE(counter >>> 0, size - 4);
	return f;
}

export interface RtpSender {
	/** Send time (ms, performance.now) of each counter sent. */
	readonly sent: Map<number, number>;
	stop(): void;
}

/** Send `pps` one-packet VP8 keyframes per second of `bytes` to 127.0.0.1:port with this SSRC; counters start at `base`. */
export function sendRtp(port: number, ssrc: number, base: number, pps = 90, bytes = 1000): RtpSender {
	const socket = dgram.createSocket('udp4');
	const sent = new Map<number, number>();
	const state = { pictureId: 1, tl0PicIdx: 0 };
	let seq = 0;
	let counter = base;
	const t0 = performance.now();
	const tick = (): void => {
		const payload = packetizeVp8(frame(counter, bytes), state)[0]!;
		const header = Buffer.alloc(12);
		header[0] = 0x80;
		header[1] = 0x80 | PAYLOAD_TYPE;
		header.writeUInt16BE(seq++ & 0xffff, 2);
		header.writeUInt32BE(Math.floor((performance.now() - t0) * 90) >>> 0, 4);
		header.writeUInt32BE(ssrc >>> 0, 8);
		sent.set(counter, performance.now());
		socket.send(Buffer.concat([header, payload]), port, '127.0.0.1');
		counter++;
	};
	const timer = setInterval(tick, 1000 / pps);
	return {
		sent,
		stop: () => {
			clearInterval(timer);
			socket.close();
		},
	};
}

export interface RtpReceiver {
	port: number;
	/** Arrival time (ms, performance.now) of each counter received (the first time). */
	readonly received: Map<number, number>;
	close(): void;
}

export async function receiveRtp(): Promise<RtpReceiver> {
	const socket = dgram.createSocket('udp4');
	const received = new Map<number, number>();
	socket.on('message', (msg) => {
		const now = performance.now();
		if (msg.length < 16 || (msg[1]! >= 192 && msg[1]! <= 223)) return; // RTCP (muxed): packet types 192-223
		// Padding, or mediasoup's bandwidth probation packets (SSRC 1234, payload type 127).
		if (msg[0]! & 0x20 || (msg[1]! & 0x7f) === 127 || msg.readUInt32BE(8) === 1234) return;
		const counter = msg.readUInt32BE(msg.length - 4);
		if (!received.has(counter)) received.set(counter, now);
	});
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
	return { port: socket.address().port, received, close: () => socket.close() };
}
