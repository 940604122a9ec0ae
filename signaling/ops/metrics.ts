/**
 * Prometheus metrics (prom-client): what the SFU forwards and how its workers fare,
 * sampled when /metrics is scraped, plus latencies observed as they happen (joins,
 * chat acks, requests). Names follow Prometheus conventions: base units in the name,
 * `_total` for counters; `promtool check metrics` validates the output in the tests.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PeerQuality } from '../protocol/index.ts';
import type { Peer, Sfu } from '../../sfu/index.ts';
import type { RequestObserver } from '../rpc.ts';
import type { ParleyServer, Session } from '../session.ts';
import { MonotonicTotal } from './MonotonicTotal.ts';
import { workerOf } from './snapshot.ts';

export interface MetricsOptions {
	sfu: Sfu;
	io: ParleyServer;
	/** Whether the server is draining (a 0/1 gauge). */
	draining: () => boolean;
	/** Receive transports prepared in lobbies, waiting for their join. */
	prepared?: () => number;
}

type Direction = 'received' | 'sent';

export class ParleyMetrics {
	readonly registry = new Registry();
	readonly #sfu: Sfu;
	readonly #io: ParleyServer;
	readonly #draining: () => boolean;
	readonly #preparedCount: () => number;
	readonly #totals = new Map<string, MonotonicTotal>();
	readonly #published = new Map<string, number>();
	readonly #cpuSeen = new Map<string, { pid: number; value: number }>();
	/** Sessions whose join is being timed (joined a room where someone already published). */
	readonly #timingJoin = new WeakSet<Session>();

	readonly #workerCpu;
	readonly #workerRss;
	readonly #workerPid;
	readonly #workerConsumers;
	readonly #workers;
	readonly #rooms;
	readonly #peers;
	readonly #transports;
	readonly #producers;
	readonly #consumers;
	readonly #bytes;
	readonly #packets;
	readonly #packetsLost;
	readonly #connections;
	readonly #draining_;
	readonly #prepared;
	readonly #join;
	readonly #chatAck;
	readonly #requests;
	readonly #loss;
	readonly #rtt;
	readonly #workerDeaths;
	readonly #migrations;
	readonly #unhandled;

	constructor({ sfu, io, draining, prepared }: MetricsOptions) {
		this.#sfu = sfu;
		this.#io = io;
		this.#draining = draining;
		this.#preparedCount = prepared ?? (() => 0);
		const registers = [this.registry];
		collectDefaultMetrics({ register: this.registry });
		// prom-client names these gauges `_total`, which Prometheus reserves for counters.
		for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
			this.registry.removeSingleMetric(name);
		}
		const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
		const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
		this.#workerCpu = counter('parley_worker_cpu_seconds_total', 'CPU time used by each mediasoup worker process.', ['worker', 'mode']);
		this.#workerRss = gauge('parley_worker_max_resident_memory_bytes', 'Peak resident memory of each mediasoup worker process.', ['worker']);
		this.#workerPid = gauge('parley_worker_pid', 'Process id of each live mediasoup worker (for operators and fault tests).', ['worker']);
		this.#workerConsumers = gauge('parley_worker_consumers', 'Consumers (forwarded streams) on each mediasoup worker.', ['worker']);
		this.#workers = gauge('parley_workers', 'Live mediasoup workers.');
		this.#rooms = gauge('parley_rooms', 'Open rooms (meetings with media).');
		this.#peers = gauge('parley_peers', 'Participants joined to a room.');
		this.#transports = gauge('parley_transports', 'Open WebRTC transports.');
		this.#producers = gauge('parley_producers', 'Media sent by participants (producers), by kind.', ['kind']);
		this.#consumers = gauge('parley_consumers', 'Media forwarded to participants (consumers), by kind.', ['kind']);
		this.#bytes = counter('parley_media_bytes_total', 'Bytes of WebRTC traffic the SFU received from and sent to participants.', ['direction']);
		this.#packets = counter('parley_media_rtp_packets_total', 'RTP packets the SFU received (producers) and sent (consumers).', ['direction']);
		this.#packetsLost = counter(
			'parley_media_rtp_packets_lost_total',
			'RTP packets lost on the way to the SFU (received) and to participants (sent, from their receiver reports).',
			['direction'],
		);
		this.#connections = gauge('parley_socketio_connections', 'Connected Socket.IO clients.');
		this.#draining_ = gauge('parley_draining', '1 while the server drains (not ready, no new rooms).');
		this.#prepared = gauge('parley_prepared_transports', 'Receive transports prepared in lobbies (POST /api/media/prepare), waiting for their join.');
		this.#join = new Histogram({
			name: 'parley_join_duration_seconds',
			help: 'Server-side join latency: Socket.IO handshake to the first consumer resumed (joins into rooms with media).',
			buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
			registers,
		});
		this.#chatAck = new Histogram({
			name: 'parley_chat_ack_duration_seconds',
			help: 'Time from a chat message arriving to its acknowledgement (stored and broadcast).',
			buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
			registers,
		});
		this.#requests = new Histogram({
			name: 'parley_signaling_request_duration_seconds',
			help: 'Duration of signaling requests, by request and outcome.',
			labelNames: ['request', 'outcome'],
			buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
			registers,
		});
		this.#loss = new Histogram({
			name: 'parley_peer_uplink_loss_ratio',
			help: 'Packet loss of participants\' media on the way to the SFU, sampled at each quality measurement.',
			buckets: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
			registers,
		});
		this.#rtt = new Histogram({
			name: 'parley_peer_rtt_seconds',
			help: 'Round-trip time between the SFU and participants, sampled at each quality measurement.',
			buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
			registers,
		});
		this.#workerDeaths = counter('parley_worker_deaths_total', 'mediasoup workers that died (or were closed by an operator).');
		this.#migrations = counter('parley_peer_migrations_total', 'Participants moved to another worker (their worker died or was closed).');
		this.#unhandled = counter('parley_unhandled_rejections_total', 'Promise rejections nobody handled (bugs; logged, the server goes on).');
		this.#workerDeaths.inc(0);
		this.#migrations.inc(0);
		this.#unhandled.inc(0);

		sfu.pool.on('workerdied', () => this.#workerDeaths.inc());
		sfu.on('roomcreated', (room) => {
			room.on('quality', (peers) => this.#observeQuality(peers));
			room.on('peermoved', () => this.#migrations.inc());
		});
	}

	/** A promise rejection nobody handled (see processGuard.ts). */
	unhandledRejection(): void {
		this.#unhandled.inc();
	}

	/** The request observer of one connection: request durations, chat acks, the join latency. */
	observer(session: Session): RequestObserver {
		return (name, seconds, ok) => {
			this.#requests.observe({ request: name, outcome: ok ? 'ok' : 'error' }, seconds);
			if (!ok) return;
			if (name === 'chat:send') this.#chatAck.observe(seconds);
			else if (name === 'room:join') {
				// Only joins where there is something to receive measure "until media flows".
				const others = session.room ? [...session.room.peers.values()].filter((p) => p !== session.peer) : [];
				if (others.some((p) => p.producers.size > 0)) this.#timingJoin.add(session);
			} else if (name === 'media:resumeConsumer' && this.#timingJoin.has(session)) {
				this.#timingJoin.delete(session);
				this.#join.observe((Date.now() - session.socket.handshake.issued) / 1000);
			}
		};
	}

	/** The text exposition (content type: `contentType`). */
	async render(): Promise<string> {
		await this.#refresh();
		return this.registry.metrics();
	}

	get contentType(): string {
		return this.registry.contentType;
	}

	#observeQuality(peers: PeerQuality[]): void {
		for (const q of peers) {
			if (q.lossPercent !== null) this.#loss.observe(q.lossPercent / 100);
			if (q.rttMs !== null) this.#rtt.observe(q.rttMs / 1000);
		}
	}

	async #refresh(): Promise<void> {
		const sfu = this.#sfu;
		await sfu.load.sample();
		this.#connections.set(this.#io.engine.clientsCount);
		this.#draining_.set(this.#draining() ? 1 : 0);
		this.#prepared.set(this.#preparedCount());
		this.#workers.set(sfu.pool.workers.length);
		this.#workerRss.reset();
		this.#workerPid.reset();
		this.#workerConsumers.reset();
		for (const { index, worker } of sfu.pool.workers) {
			const s = sfu.load.get(index);
			const labels = { worker: String(index) };
			this.#workerPid.set(labels, worker.pid);
			this.#workerConsumers.set(labels, 0);
			if (!s) continue;
			this.#workerRss.set(labels, s.maxRssBytes);
			this.#cpu(String(index), 'user', s.pid, s.userSeconds);
			this.#cpu(String(index), 'system', s.pid, s.systemSeconds);
		}

		const rooms = [...sfu.rooms.values()].filter((r) => !r.closed);
		const peers = rooms.flatMap((room) => [...room.peers.values()].map((peer) => ({ room, peer })));
		this.#rooms.set(rooms.length);
		this.#peers.set(peers.length);
		const producers = { audio: 0, video: 0 };
		const consumers = { audio: 0, video: 0 };
		let transports = 0;
		const live = {
			bytesReceived: new Map<string, number>(),
			bytesSent: new Map<string, number>(),
			packetsReceived: new Map<string, number>(),
			packetsSent: new Map<string, number>(),
			lostReceived: new Map<string, number>(),
			lostSent: new Map<string, number>(),
		};
		const work: Promise<void>[] = [];
		for (const { room, peer } of peers) {
			transports += peer.transports.size;
			for (const p of peer.producers.values()) producers[p.kind]++;
			for (const c of peer.consumers.values()) consumers[c.kind]++;
			this.#workerConsumers.inc({ worker: String(workerOf(room, peer)) }, peer.consumers.size);
			work.push(...this.#peerStats(peer, live));
		}
		await Promise.all(work);
		for (const kind of ['audio', 'video'] as const) {
			this.#producers.set({ kind }, producers[kind]);
			this.#consumers.set({ kind }, consumers[kind]);
		}
		this.#transports.set(transports);
		this.#publish('bytes', this.#bytes, 'received', live.bytesReceived);
		this.#publish('bytes', this.#bytes, 'sent', live.bytesSent);
		this.#publish('packets', this.#packets, 'received', live.packetsReceived);
		this.#publish('packets', this.#packets, 'sent', live.packetsSent);
		this.#publish('lost', this.#packetsLost, 'received', live.lostReceived);
		this.#publish('lost', this.#packetsLost, 'sent', live.lostSent);
	}

	#peerStats(
		peer: Peer,
		live: Record<'bytesReceived' | 'bytesSent' | 'packetsReceived' | 'packetsSent' | 'lostReceived' | 'lostSent', Map<string, number>>,
	): Promise<void>[] {
		const work: Promise<void>[] = [];
		for (const t of peer.transports.values()) {
			work.push(
				t.getStats().then(
					([s]) => {
						if (!s) return;
						live.bytesReceived.set(t.id, s.bytesReceived);
						live.bytesSent.set(t.id, s.bytesSent);
					},
					() => undefined,
				),
			);
		}
		for (const p of peer.producers.values()) {
			work.push(
				p.getStats().then(
					(stats) => {
						for (const s of stats) {
							const key = `${p.id}/${s.ssrc}`;
							live.packetsReceived.set(key, s.packetCount);
							live.lostReceived.set(key, Math.max(0, s.packetsLost));
						}
					},
					() => undefined,
				),
			);
		}
		for (const c of peer.consumers.values()) {
			work.push(
				c.getStats().then(
					(stats) => {
						for (const s of stats) {
							if (s.type !== 'outbound-rtp') continue;
							const key = `${c.id}/${s.ssrc}`;
							live.packetsSent.set(key, s.packetCount);
							live.lostSent.set(key, Math.max(0, s.packetsLost));
						}
					},
					() => undefined,
				),
			);
		}
		return work;
	}

	/** Bring a counter (one direction) up to the running total of what is live and what closed. */
	#publish(name: string, counter: Counter, direction: Direction, live: ReadonlyMap<string, number>): void {
		const key = `${name}/${direction}`;
		let total = this.#totals.get(key);
		if (!total) this.#totals.set(key, (total = new MonotonicTotal()));
		const value = total.update(live);
		const delta = value - (this.#published.get(key) ?? 0);
		counter.inc({ direction }, Math.max(0, delta));
		this.#published.set(key, Math.max(value, this.#published.get(key) ?? 0));
	}

	/** A worker's CPU counter grows by what its process used since the last scrape (a new process starts over). */
	#cpu(worker: string, mode: 'user' | 'system', pid: number, value: number): void {
		const key = `${worker}/${mode}`;
		const seen = this.#cpuSeen.get(key);
		const delta = seen && seen.pid === pid ? value - seen.value : value;
		this.#workerCpu.inc({ worker, mode }, Math.max(0, delta));
		this.#cpuSeen.set(key, { pid, value });
	}
}
