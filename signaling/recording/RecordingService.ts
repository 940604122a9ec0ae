/**
 * Meeting recordings: one sfu Recorder per meeting being recorded, its manifest kept on
 * disk, the size limit watched, old recordings swept. Who may start or stop is the
 * callers' check (the handler checks the role, the API its key); this class tells
 * everyone the new state through `change`, and `ready` once a stopped recording's files
 * are all finished.
 *
 * A participant whose token says `recordable: false` has no track recorded (checked for
 * every new track, and again after a grant update: `refresh(room)`).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import { Composer, ffmpegProblem, Recorder, RtpPortPool, type Sfu } from '../../sfu/index.ts';
import { COMPOSED_FILE, ErrorCode, ProtocolError, type RecordingInfo, type RecordingProblem, type RecordingState, type RecordingStopReason } from '../protocol/index.ts';
import type { SessionRegistry } from '../session.ts';
import { RecordingStore } from './RecordingStore.ts';

export type StopReason = RecordingStopReason;

export type RecordingServiceEvents = {
	change: [room: string, state: RecordingState];
	/** A track of a running recording is not recorded (for the meeting's hosts). */
	problem: [room: string, problem: RecordingProblem];
	/** Every file of a stopped recording is finished. */
	ready: [info: RecordingInfo];
	/** The composed file of a recording is made (or failed: `info.composed.state`). */
	composed: [info: RecordingInfo];
};

interface Active {
	info: RecordingInfo;
	recorder: Recorder;
	sizeTimer: NodeJS.Timeout;
	saving: Promise<void>;
}

const NOT_RECORDING: RecordingState = { active: false, startedAt: null, id: null };
const SIZE_CHECK_MS = 5000;

export class RecordingService extends EventEmitter<RecordingServiceEvents> {
	readonly store: RecordingStore;
	readonly #config: Config;
	readonly #sfu: Sfu;
	readonly #sessions: SessionRegistry;
	readonly #log: Logger;
	readonly #ports: RtpPortPool;
	readonly #active = new Map<string, Active>();
	readonly #stopping = new Set<Promise<void>>();
	readonly #sweepTimer: NodeJS.Timeout;
	/** Compositions run one at a time (they re-encode: CPU). */
	#composing: Promise<void> = Promise.resolve();
	#composer: Composer | undefined;
	/** The last check that the recorder's ffmpeg runs (kept once it does; checked again at each start until then). */
	#ffmpeg: Promise<string | null> | undefined;
	#closed = false;

	constructor(deps: { config: Config; sfu: Sfu; sessions: SessionRegistry; log: Logger }) {
		super();
		this.#config = deps.config;
		this.#sfu = deps.sfu;
		this.#sessions = deps.sessions;
		this.#log = deps.log;
		const { recording } = deps.config;
		this.store = new RecordingStore(recording.dir ?? path.join(deps.config.data.dir, 'recordings'), deps.log);
		this.#ports = new RtpPortPool(recording.rtpPortMin, recording.rtpPortMax);
		const sweep = (): void => void this.store.sweep(recording.retentionDays).catch((err: unknown) => this.#log.warn({ err }, 'recordings not swept'));
		sweep();
		this.#sweepTimer = setInterval(sweep, 3_600_000);
		this.#sweepTimer.unref();
		// Told to the operator at start-up, not at the first host's click.
		void this.#ffmpegProblem().then((problem) => {
			if (problem) this.#log.warn({ ffmpeg: recording.ffmpegPath, problem }, 'recording unavailable: its recorder (ffmpeg) cannot be run');
		});
	}

	/** null when the recorder's ffmpeg runs; what is wrong otherwise. */
	#ffmpegProblem(): Promise<string | null> {
		const check = this.#ffmpeg ?? ffmpegProblem(this.#config.recording.ffmpegPath);
		this.#ffmpeg = check;
		// A failed check is not kept: the operator may install ffmpeg without a restart.
		void check.then((problem) => {
			if (problem && this.#ffmpeg === check) this.#ffmpeg = undefined;
		});
		return check;
	}

	state(room: string): RecordingState {
		const active = this.#active.get(room);
		return active ? { active: true, startedAt: active.info.startedAt, id: active.info.id } : NOT_RECORDING;
	}

	/** Rooms being recorded now. */
	get recordingRooms(): string[] {
		return [...this.#active.keys()];
	}

	async start(room: string, by: string): Promise<RecordingState> {
		if (this.#closed) throw new ProtocolError(ErrorCode.Unavailable, 'the server is shutting down');
		if (this.#active.has(room)) throw new ProtocolError(ErrorCode.InvalidState, 'the meeting is already being recorded');
		const sfuRoom = this.#sfu.rooms.get(room);
		if (!sfuRoom || sfuRoom.closed) throw new ProtocolError(ErrorCode.NotFound, 'nobody is in this meeting');
		const total = await this.store.totalBytes();
		if (total >= this.#config.recording.quotaBytes) {
			this.#log.error({ roomId: room, total, quota: this.#config.recording.quotaBytes }, 'recording refused: the recordings folder is full');
			throw new ProtocolError(ErrorCode.LimitExceeded, 'the recordings storage is full');
		}
		const problem = await this.#ffmpegProblem();
		if (problem) {
			this.#log.error({ roomId: room, ffmpeg: this.#config.recording.ffmpegPath, problem }, 'recording refused: its recorder (ffmpeg) cannot be run');
			throw new ProtocolError(ErrorCode.Unavailable, 'recording is not available on this server right now (its recorder cannot be run; the operator\'s log says why)');
		}
		const free = await this.#lowDisk(room, 'recording refused: the recordings disk is (nearly) full');
		if (free !== null) throw new ProtocolError(ErrorCode.Unavailable, `the server has too little disk space left to record (${Math.floor(free / 1024 ** 2)} MB free)`);
		if (this.#active.has(room)) throw new ProtocolError(ErrorCode.InvalidState, 'the meeting is already being recorded');
		const startedAt = Date.now();
		const id = `${new Date(startedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex').slice(0, 6)}`;
		const info: RecordingInfo = { id, room, startedAt, endedAt: null, startedBy: by, stopReason: null, bytes: 0, files: [] };
		const recorder = await Recorder.start({
			room: sfuRoom,
			dir: this.store.folder(room, id),
			ffmpegPath: this.#config.recording.ffmpegPath,
			ports: this.#ports,
			include: (peerId) => this.#sessions.get(room, peerId)?.claims.grants.recordable !== false,
			logger: this.#log,
		});
		const active: Active = {
			info,
			recorder,
			// Handled now: a write that fails (a full disk) must not be an unhandled rejection until the next save chains on it.
			saving: this.store.save(info).catch((err: unknown) => this.#log.error({ err, roomId: room }, 'recording manifest not written')),
			sizeTimer: setInterval(() => void this.#checkSize(room, active), SIZE_CHECK_MS),
		};
		active.sizeTimer.unref();
		this.#active.set(room, active);
		recorder.on('part', (part) => {
			info.files.push(part);
			info.bytes += part.bytes;
			this.#save(active);
		});
		recorder.on('trackfailed', ({ peerId, name, source, reason }) => {
			this.#log.error({ roomId: room, recordingId: id, peerId, source, reason }, 'a track of the recording is not recorded: the hosts are told');
			this.emit('problem', room, { name, source, reason });
		});
		recorder.once('close', (reason) => {
			if (reason === 'room-closed' && this.#active.get(room) === active) void this.stop(room, 'meeting', 'meeting-ended');
		});
		// Listed (GET /recordings, the recordings dialog) from the moment the start is answered.
		await active.saving;
		// A stop that came during that write has already told everyone: no "started" after it.
		if (this.#active.get(room) !== active) return this.state(room);
		this.#log.info({ roomId: room, recordingId: id, by }, 'recording started');
		const state = this.state(room);
		this.emit('change', room, state);
		return state;
	}

	/** Stop a meeting's recording; everyone is told at once, the files are finished in the background. */
	stop(room: string, by: string, reason: StopReason = 'stopped'): Promise<void> {
		const active = this.#active.get(room);
		if (!active) return Promise.reject(new ProtocolError(ErrorCode.InvalidState, 'the meeting is not being recorded'));
		this.#active.delete(room);
		clearInterval(active.sizeTimer);
		this.#log.info({ roomId: room, recordingId: active.info.id, by, reason }, 'recording stopping');
		this.emit('change', room, { ...NOT_RECORDING, stopReason: reason });
		const done = active.recorder.stop().then(async () => {
			active.info.endedAt = Date.now();
			active.info.stopReason = reason;
			this.#save(active);
			await active.saving;
			this.#log.info({ roomId: room, recordingId: active.info.id, files: active.info.files.length, bytes: active.info.bytes }, 'recording ready');
			this.emit('ready', active.info);
			if (active.info.files.length > 0 && !this.#closed) this.#compose(active);
		});
		const tracked = done.catch((err: unknown) => this.#log.error({ err, roomId: room }, 'recording did not finish cleanly'));
		this.#stopping.add(tracked);
		void tracked.finally(() => this.#stopping.delete(tracked));
		return tracked;
	}

	/** Make the composed file in the background (queued behind any other composition). */
	#compose(active: Active): void {
		const info = active.info;
		info.composed = { state: 'pending', progress: 0, file: null, bytes: null, seconds: null };
		this.#save(active);
		this.#composing = this.#composing.then(async () => {
			if (this.#closed) return;
			const started = Date.now();
			const composer = new Composer({
				ffmpegPath: this.#config.recording.ffmpegPath,
				dir: this.store.folder(info.room, info.id),
				output: COMPOSED_FILE,
				log: this.#log.child({ roomId: info.room, recordingId: info.id }),
				parts: info.files.map((f) => ({ file: f.file, track: `${f.peerId}:${f.source}`, kind: f.kind, startedAt: f.startedAt, endedAt: f.endedAt, capturedAt: f.capturedAt ?? null })),
			});
			this.#composer = composer;
			let saved = 0;
			composer.on('progress', (progress) => {
				info.composed = { state: 'composing', progress, file: null, bytes: null, seconds: null };
				if (Date.now() - saved > 1000) {
					saved = Date.now();
					this.#save(active);
				}
			});
			try {
				await composer.done;
				const bytes = await stat(path.join(this.store.folder(info.room, info.id), COMPOSED_FILE)).then((s) => s.size, () => 0);
				info.composed = { state: 'ready', progress: 1, file: COMPOSED_FILE, bytes, seconds: composer.durationSec };
				this.#log.info({ roomId: info.room, recordingId: info.id, seconds: composer.durationSec, tookMs: Date.now() - started }, 'composed file ready');
			} catch (err) {
				info.composed = { state: 'failed', progress: 0, file: null, bytes: null, seconds: null };
				if (!this.#closed) this.#log.error({ err, roomId: info.room, recordingId: info.id }, 'composed file not made');
			} finally {
				this.#composer = undefined;
			}
			this.#save(active);
			await active.saving;
			this.emit('composed', info);
		});
	}

	/** Grants changed in a room: start or stop tracks accordingly. */
	refresh(room: string): void {
		this.#active.get(room)?.recorder.refresh();
	}

	#save(active: Active): void {
		const snapshot = structuredClone(active.info);
		active.saving = active.saving
			.then(() => this.store.save(snapshot))
			.catch((err: unknown) => this.#log.error({ err, roomId: active.info.room }, 'recording manifest not written'));
	}

	async #checkSize(room: string, active: Active): Promise<void> {
		if (this.#active.get(room) !== active) return;
		const bytes = await this.store.folderBytes(room, active.info.id);
		if (bytes >= this.#config.recording.maxBytes && this.#active.get(room) === active) {
			this.#log.warn({ roomId: room, bytes, maxBytes: this.#config.recording.maxBytes }, 'recording reached its size limit: stopped');
			void this.stop(room, 'limit', 'size-limit');
			return;
		}
		// Stopped while the files can still be finished (ffmpeg writing into a full disk ends in a crash loop).
		if (this.#active.get(room) !== active) return;
		if ((await this.#lowDisk(room, 'recording stopped: the recordings disk is (nearly) full')) !== null && this.#active.get(room) === active) {
			void this.stop(room, 'disk', 'disk-full');
		}
	}

	/** The free bytes on the recordings disk when under recording.minFreeBytes (logged with `message`); null otherwise. */
	async #lowDisk(room: string, message: string): Promise<number | null> {
		const { minFreeBytes } = this.#config.recording;
		if (minFreeBytes <= 0) return null;
		const free = await this.#freeBytes();
		if (free === null || free >= minFreeBytes) return null;
		this.#log.error({ roomId: room, freeBytes: free, minFreeBytes, dir: this.store.dir }, message);
		return free;
	}

	/** Free space on the recordings disk (bytes, for unprivileged users); null when unknown. */
	async #freeBytes(): Promise<number | null> {
		// The folder itself may not exist yet: its nearest existing parent is on the same disk, or tells the same.
		for (let dir = this.store.dir; ; dir = path.dirname(dir)) {
			try {
				const fs = await statfs(dir);
				return Number(fs.bavail) * Number(fs.bsize);
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) {
					this.#log.warn({ err: error, dir }, 'free space on the recordings disk unknown');
					return null;
				}
			}
		}
	}

	/** Stop every recording and wait for the files (server shutdown). Idempotent. */
	async close(): Promise<void> {
		if (!this.#closed) {
			this.#closed = true;
			clearInterval(this.#sweepTimer);
			for (const room of [...this.#active.keys()]) void this.stop(room, 'server', 'server-shutdown');
		}
		await Promise.all([...this.#stopping]);
		// A composition in progress is abandoned (marked failed); the per-track files are kept.
		this.#composer?.close();
		await this.#composing;
	}
}
