/**
 * One ffmpeg process writing one file from RTP on a loopback port, described by an SDP
 * file. Nothing is re-encoded (`-c copy`). The file is Matroska/WebM written in short
 * clusters and flushed as it goes, so a process that is killed leaves a playable file
 * up to its last cluster.
 *
 * `ready` resolves once ffmpeg listens on its RTP port (the consumer may then send);
 * `stop()` ends the stream the way RTP does, with an RTCP BYE: ffmpeg's RTP input takes it
 * as the end of the stream and finishes the file (duration, cues) even when no media
 * flows any more (a paused producer). A signal would not do: ffmpeg checks the first
 * SIGINT only between packets, and a second one aborts the file's trailer too. If the
 * BYE is not heeded, SIGINT twice, then SIGKILL. An exit that nobody asked for is reported
 * as `crashed: true`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';

export interface FfmpegProcessOptions {
	ffmpegPath: string;
	sdpPath: string;
	outPath: string;
	/** The RTP port ffmpeg listens on (from the SDP). */
	port: number;
	log: Logger;
	/** How long ffmpeg may take to finish the file after SIGINT before it is killed (ms). */
	stopTimeoutMs?: number;
}

export type FfmpegProcessEvents = {
	exit: [info: { code: number | null; signal: NodeJS.Signals | null; crashed: boolean; stderr: string }];
};

const READY_TIMEOUT_MS = 5000;
const BYE_WAIT_MS = 2000;
const STDERR_KEEP = 4000;

export class FfmpegProcess extends EventEmitter<FfmpegProcessEvents> {
	readonly outPath: string;
	readonly ready: Promise<void>;
	readonly exited: Promise<void>;
	readonly #child: ChildProcess;
	readonly #options: FfmpegProcessOptions;
	#stopping = false;
	#done = false;
	#stderr = '';

	constructor(options: FfmpegProcessOptions) {
		super();
		this.#options = options;
		this.outPath = options.outPath;
		const args = [
			'-nostdin',
			'-hide_banner',
			'-loglevel',
			'warning',
			'-protocol_whitelist',
			'file,udp,rtp',
			'-fflags',
			'+genpts',
			'-reorder_queue_size',
			'500',
			'-i',
			options.sdpPath,
			'-map',
			'0',
			'-c',
			'copy',
			// Frames closer than the container's 1 ms clock (a simulcast layer switch can stamp a
			// frame one RTP tick after the last) would share a timestamp: keep each ≥ 1 ms later.
			'-bsf:v',
			'setts=ts=if(N\\,max(TS\\,PREV_OUTPTS+1)\\,TS)',
			'-cluster_time_limit',
			'1000',
			'-flush_packets',
			'1',
			'-y',
			options.outPath,
		];
		this.#child = spawn(options.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
		this.#child.stderr?.setEncoding('utf8');
		this.#child.stderr?.on('data', (chunk: string) => {
			this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
		});
		let spawnError: Error | undefined;
		this.#child.once('error', (err) => {
			spawnError = err;
			options.log.error({ err, ffmpeg: options.ffmpegPath }, 'recorder process could not start');
		});
		this.exited = new Promise((resolve) => {
			this.#child.once('close', (code, signal) => {
				this.#done = true;
				const crashed = !this.#stopping;
				const stderr = spawnError ? String(spawnError) : this.#stderr.trim();
				this.emit('exit', { code, signal, crashed, stderr });
				resolve();
			});
		});
		this.ready = this.#waitListening();
	}

	get pid(): number | undefined {
		return this.#child.pid;
	}

	get running(): boolean {
		return !this.#done;
	}

	/** Finish the file and end the process (idempotent); resolves when it has exited. */
	async stop(): Promise<void> {
		if (this.#done) return;
		if (!this.#stopping) {
			this.#stopping = true;
			void this.#escalate();
		}
		await this.exited;
	}

	async #escalate(): Promise<void> {
		const { log, port } = this.#options;
		const exitedWithin = (ms: number): Promise<boolean> =>
			Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
		await sendBye(port + 1).catch((err: unknown) => log.warn({ err }, 'RTCP BYE not sent to the recorder process'));
		if (await exitedWithin(BYE_WAIT_MS)) return;
		log.warn({ pid: this.pid, file: this.outPath }, 'recorder process did not end on RTCP BYE: interrupting it');
		this.#child.kill('SIGINT');
		await new Promise((r) => setTimeout(r, 100));
		this.#child.kill('SIGINT');
		if (await exitedWithin(this.#options.stopTimeoutMs ?? 3000)) return;
		log.warn({ pid: this.pid, file: this.outPath }, 'recorder process did not finish its file in time: killed');
		this.#child.kill('SIGKILL');
	}

	/** ffmpeg opened its input once its RTP port is bound (seen in /proc/net/udp). */
	async #waitListening(): Promise<void> {
		const hex = `:${this.#options.port.toString(16).toUpperCase().padStart(4, '0')} `;
		const deadline = Date.now() + READY_TIMEOUT_MS;
		for (;;) {
			if (this.#done) throw new Error(`the recorder process exited before listening: ${this.#stderr.trim().slice(-300)}`);
			const tables = await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
			if (tables.some((t) => t.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex.trim()) === true))) return;
			if (Date.now() > deadline) {
				// Not seen (another kernel layout?): go on; the first packets may be lost, the keyframe is asked for again.
				this.#options.log.warn({ port: this.#options.port }, 'recorder port not seen bound in time; resuming anyway');
				return;
			}
			await new Promise((r) => setTimeout(r, 25));
		}
	}
}

/**
 * An RTCP BYE (two SSRCs: ffmpeg ignores packets under 12 bytes) from 127.0.0.1 to the
 * recorder's RTCP port.
 */
async function sendBye(rtcpPort: number): Promise<void> {
	const bye = Buffer.from([0x82, 203, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2]);
	const socket = createSocket('udp4');
	try {
		await new Promise<void>((resolve, reject) => {
			socket.once('error', reject);
			socket.bind(0, '127.0.0.1', () => socket.send(bye, rtcpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
		});
	} finally {
		socket.close();
	}
}
