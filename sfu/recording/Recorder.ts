/**
 * Records a room: every published track of the peers it may record, followed as people
 * join, leave, mute and unmute, switch camera or start sharing (a new producer is a new
 * track; a closed one finishes its file). It knows nothing of sockets or of who may
 * start it: `include(peerId)` says whether a peer may be recorded (checked for every new
 * track, and again on `refresh()`).
 *
 * close() is idempotent and cascades to every track; `stop()` also waits until every
 * file is finished.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Producer } from '../Peer.ts';
import type { Room } from '../Room.ts';
import { LimitError } from '../errors.ts';
import { logUnlessClosed } from '../log.ts';
import type { RtpPortPool } from './RtpPortPool.ts';
import { TrackRecording, type TrackPart } from './TrackRecording.ts';

export interface RecorderOptions {
	room: Room;
	/** This recording's folder (created if needed). */
	dir: string;
	ffmpegPath: string;
	ports: RtpPortPool;
	/** Whether a peer's tracks may be recorded. */
	include: (peerId: string) => boolean;
	logger: Logger;
}

/** A track that is not recorded although it should be (who, which source, why). */
export interface FailedTrack {
	peerId: string;
	name: string;
	source: string;
	reason: string;
}

export type RecorderEvents = {
	/** A file was finished (or left behind by a crashed recorder process). */
	part: [part: TrackPart];
	/** A track could not be recorded, or no longer is (the recording goes on with the others). */
	trackfailed: [track: FailedTrack];
	close: [reason: 'stopped' | 'room-closed'];
};

export class Recorder extends EventEmitter<RecorderEvents> {
	readonly room: Room;
	readonly dir: string;
	readonly startedAt = Date.now();
	readonly #options: RecorderOptions;
	readonly #log: Logger;
	readonly #tracks = new Map<string, TrackRecording>();
	readonly #starting = new Set<string>();
	readonly #releases = new Map<string, () => void>();
	#count = 0;
	#closed = false;
	#finished: Promise<void> = Promise.resolve();
	readonly #onNewProducer = (producer: Producer): void => this.#consider(producer);
	readonly #onRoomClose = (): void => this.#close('room-closed');

	private constructor(options: RecorderOptions) {
		super();
		this.#options = options;
		this.room = options.room;
		this.dir = options.dir;
		this.#log = options.room.log.child({ component: 'recorder' });
		options.room.on('newproducer', this.#onNewProducer);
		options.room.once('close', this.#onRoomClose);
	}

	static async start(options: RecorderOptions): Promise<Recorder> {
		await mkdir(options.dir, { recursive: true });
		const recorder = new Recorder(options);
		recorder.#log.info({ dir: options.dir }, 'recording started');
		recorder.refresh();
		return recorder;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Tracks being recorded now. */
	get tracks(): number {
		return this.#tracks.size;
	}

	/** Files being written now (relative to the folder). */
	get currentFiles(): string[] {
		return [...this.#tracks.values()].map((t) => t.currentFile).filter((f): f is string => f !== undefined);
	}

	/** What each recorded video track asks for and gets (producer id → layers). */
	get layers(): Map<string, TrackRecording['layers']> {
		return new Map([...this.#tracks].map(([id, t]) => [id, t.layers]));
	}

	/** Check every producer again against `include` (after grants changed): start or stop their tracks. */
	refresh(): void {
		if (this.#closed) return;
		for (const peer of this.room.peers.values()) for (const producer of peer.producers.values()) this.#consider(producer);
		for (const track of this.#tracks.values()) if (!this.#options.include(track.peerId)) track.close();
	}

	#consider(producer: Producer): void {
		if (this.#closed || producer.closed || this.#tracks.has(producer.id) || this.#starting.has(producer.id)) return;
		const peerId = producer.appData.peerId;
		if (!this.#options.include(peerId)) return;
		const peer = this.room.peers.get(peerId);
		const router = this.room.routerOf(producer);
		if (!peer || !router) return;
		this.#starting.add(producer.id);
		this.#count++;
		const stem = `${String(this.#count).padStart(3, '0')}-${safe(peerId)}-${producer.appData.source}`;
		// The recording wants the best layer: dynacast keeps the publisher sending it.
		if (producer.kind === 'video') this.#releases.set(producer.id, this.room.holdTopLayer(producer));
		void TrackRecording.create({
			router,
			producer,
			peerName: peer.name,
			ports: this.#options.ports,
			dir: this.dir,
			stem,
			ffmpegPath: this.#options.ffmpegPath,
			log: this.#log.child({ peerId }),
		}).then(
			(track) => {
				this.#starting.delete(producer.id);
				this.#finished = Promise.all([this.#finished, track.closed]).then(() => undefined);
				if (this.#closed || producer.closed) {
					track.close();
					this.#release(producer.id);
					return;
				}
				this.#tracks.set(producer.id, track);
				track.on('part', (part) => this.emit('part', part));
				track.once('failed', (reason) => {
					if (!this.#closed) this.emit('trackfailed', { peerId, name: peer.name, source: producer.appData.source, reason });
				});
				track.once('close', () => {
					if (this.#tracks.get(producer.id) === track) this.#tracks.delete(producer.id);
					this.#release(producer.id);
				});
			},
			(err: unknown) => {
				this.#starting.delete(producer.id);
				this.#release(producer.id);
				logUnlessClosed(this.#log, producer, err, 'track not recorded');
				if (!this.#closed && !producer.closed) {
					this.emit('trackfailed', { peerId, name: peer.name, source: producer.appData.source, reason: err instanceof LimitError ? 'no recorder port is free' : 'its recorder could not be set up' });
				}
			},
		);
	}

	#release(producerId: string): void {
		this.#releases.get(producerId)?.();
		this.#releases.delete(producerId);
	}

	/** Stop recording and wait until every file is finished. */
	async stop(): Promise<void> {
		this.#close('stopped');
		// Tracks still being set up close themselves once created; give them a moment.
		while (this.#starting.size > 0) await new Promise((r) => setTimeout(r, 20));
		await this.#finished;
	}

	close(): void {
		this.#close('stopped');
	}

	#close(reason: 'stopped' | 'room-closed'): void {
		if (this.#closed) return;
		this.#closed = true;
		this.room.off('newproducer', this.#onNewProducer);
		this.room.off('close', this.#onRoomClose);
		for (const track of this.#tracks.values()) track.close('stopped');
		for (const release of this.#releases.values()) release();
		this.#releases.clear();
		this.#log.info({ reason }, 'recording stopped');
		const finished = this.#finished;
		void finished.then(() => {
			this.emit('close', reason);
			this.removeAllListeners();
		});
	}
}

function safe(s: string): string {
	return s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_').slice(0, 64);
}
