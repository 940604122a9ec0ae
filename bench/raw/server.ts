/**
 * The raw-mediasoup baseline: the least code that forwards the bots' media with the
 * mediasoup API directly (one worker, one WebRtcServer, one router per room, the same
 * codecs as Parley) and no Parley signaling. Runs as a child process forked by the
 * benchmark and is driven over the Node IPC channel:
 *   parent → child  { id, peer, method, params }
 *   child → parent  { id, result } | { id, error } | { peer, event: 'newproducer', data }
 * and { ready: { workerPid } } once the worker is up.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { mediaCodecs } from '../../sfu/codecs.ts';

const listenIp = process.env.RAW_LISTEN_IP ?? '127.0.0.1';
const port = Number(process.env.RAW_PORT ?? 24000);

interface RawPeer {
	id: string;
	room: string;
	rtpCapabilities?: types.RtpCapabilities;
	transports: Map<string, types.WebRtcTransport>;
	producers: Map<string, types.Producer>;
	consumers: Map<string, types.Consumer>;
}

const worker = await mediasoup.createWorker({ logLevel: 'error' });
const webRtcServer = await worker.createWebRtcServer({
	listenInfos: [{ protocol: 'udp', ip: listenIp, port }],
});
const routers = new Map<string, Promise<types.Router>>();
const peers = new Map<string, RawPeer>();

function router(room: string): Promise<types.Router> {
	let r = routers.get(room);
	if (!r) routers.set(room, (r = worker.createRouter({ mediaCodecs })));
	return r;
}

function send(message: unknown): void {
	process.send?.(message);
}

type Params = Record<string, unknown>;
const methods: Record<string, (peer: RawPeer, p: Params) => Promise<unknown>> = {
	async getRouterRtpCapabilities(peer) {
		return (await router(peer.room)).rtpCapabilities;
	},
	async join(peer, p) {
		peer.rtpCapabilities = p.rtpCapabilities as types.RtpCapabilities;
		const others = [...peers.values()].filter((o) => o.room === peer.room && o.id !== peer.id);
		return others.flatMap((o) => [...o.producers.values()].map((pr) => info(o, pr)));
	},
	async createTransport(peer, p) {
		const transport = await (await router(peer.room)).createWebRtcTransport({
			webRtcServer,
			enableUdp: true,
			enableTcp: false,
			appData: { direction: p.direction },
		});
		peer.transports.set(transport.id, transport);
		return {
			id: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
		};
	},
	async connectTransport(peer, p) {
		await transport(peer, p.transportId).connect({ dtlsParameters: p.dtlsParameters as types.DtlsParameters });
		return {};
	},
	async produce(peer, p) {
		const producer = await transport(peer, p.transportId).produce({
			kind: p.kind as types.MediaKind,
			rtpParameters: p.rtpParameters as types.RtpParameters,
		});
		peer.producers.set(producer.id, producer);
		for (const o of peers.values()) {
			if (o.room === peer.room && o.id !== peer.id) send({ peer: o.id, event: 'newproducer', data: info(peer, producer) });
		}
		return { producerId: producer.id };
	},
	async consume(peer, p) {
		const producerId = p.producerId as string;
		const owner = [...peers.values()].find((o) => o.room === peer.room && o.producers.has(producerId));
		if (!owner) throw new Error(`no producer ${producerId}`);
		const consumer = await transport(peer, p.transportId).consume({
			producerId,
			rtpCapabilities: peer.rtpCapabilities!,
			paused: true,
		});
		peer.consumers.set(consumer.id, consumer);
		return {
			id: consumer.id,
			producerId,
			peerId: owner.id,
			kind: consumer.kind,
			source: consumer.kind === 'video' ? 'camera' : 'microphone',
			rtpParameters: consumer.rtpParameters,
			producerPaused: consumer.producerPaused,
		};
	},
	async resumeConsumer(peer, p) {
		const consumer = peer.consumers.get(p.consumerId as string);
		if (!consumer) throw new Error('no such consumer');
		await consumer.resume();
		return {};
	},
	async leave(peer) {
		for (const t of peer.transports.values()) t.close();
		peers.delete(peer.id);
		return {};
	},
};

function transport(peer: RawPeer, id: unknown): types.WebRtcTransport {
	const t = peer.transports.get(id as string);
	if (!t) throw new Error(`no transport ${String(id)}`);
	return t;
}

function info(peer: RawPeer, producer: types.Producer) {
	return { id: producer.id, peerId: peer.id, kind: producer.kind, source: producer.kind === 'video' ? 'camera' : 'microphone', paused: producer.paused };
}

process.on('message', (msg: { id: number; peer: string; room?: string; method: string; params: Params }) => {
	let peer = peers.get(msg.peer);
	if (!peer) {
		if (msg.method === 'leave') {
			send({ id: msg.id, result: {} });
			return;
		}
		peer = { id: msg.peer, room: msg.room ?? 'default', transports: new Map(), producers: new Map(), consumers: new Map() };
		peers.set(peer.id, peer);
	}
	const fn = methods[msg.method];
	if (!fn) {
		send({ id: msg.id, error: `unknown method ${msg.method}` });
		return;
	}
	fn(peer, msg.params ?? {}).then(
		(result) => send({ id: msg.id, result }),
		(error: unknown) => send({ id: msg.id, error: (error as Error).message }),
	);
});
process.on('disconnect', () => {
	worker.close();
	process.exit(0);
});
send({ ready: { workerPid: worker.pid } });
