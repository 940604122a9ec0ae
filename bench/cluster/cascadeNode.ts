/**
 * One cascading node for the inter-node tests and the hop benchmark (a child process,
 * driven over IPC by bench/cluster/cascadeNodes.ts): a real mediasoup worker, one router per
 * room, and the cluster's Cascade (pipe transports negotiated over the real Redis). RTP
 * enters and leaves through PlainTransports on loopback, so the parent can send packets to
 * one node and time their arrival at the other.
 *
 *   node bench/cluster/cascadeNode.ts <nodeId> <redisUrl> <rtcMinPort> <rtcMaxPort>
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { mediaCodecs } from '../../sfu/codecs.ts';
import { Cascade } from '../../signaling/cluster/Cascade.ts';

export type NodeCommand =
	| { cmd: 'ingest'; room: string; ssrc: number }
	| { cmd: 'egress'; room: string; producerId: string; port: number }
	| { cmd: 'closeEgress'; consumerId: string }
	| { cmd: 'egressState'; consumerId: string }
	| { cmd: 'pauseIngest'; producerId: string; paused: boolean }
	| { cmd: 'closeIngest'; producerId: string }
	| { cmd: 'release'; room: string; node: string; producerId: string }
	| { cmd: 'streams' }
	| { cmd: 'pull'; room: string; node: string; producerId: string }
	| { cmd: 'push'; room: string; node: string; producerId: string }
	| { cmd: 'exit' };

export type NodeReply = { id: number; ok: true; result: Record<string, unknown> } | { id: number; ok: false; error: string };

/** The VP8 payload type the plain producers use. */
export const PAYLOAD_TYPE = 101;

const [nodeId, redisUrl, minPort, maxPort] = process.argv.slice(2);
if (!nodeId || !redisUrl || !minPort || !maxPort) throw new Error('usage: cascadeNode.ts <nodeId> <redisUrl> <rtcMinPort> <rtcMaxPort>');
const log = pino({ level: process.env.CASCADE_LOG_LEVEL ?? 'warn' }).child({ node: nodeId });
const worker = await mediasoup.createWorker({ rtcMinPort: Number(minPort), rtcMaxPort: Number(maxPort), logLevel: 'warn' });
const routers = new Map<string, Promise<types.Router>>();
const router = (room: string): Promise<types.Router> => {
	let r = routers.get(room);
	if (!r) routers.set(room, (r = worker.createRouter({ mediaCodecs })));
	return r;
};
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
const cascade = await Cascade.create({ redis, nodeId, router, listenIp: '127.0.0.1', log });
const consumers = new Map<string, types.Consumer>();
const producers = new Map<string, types.Producer>();

async function run(c: NodeCommand): Promise<Record<string, unknown>> {
	switch (c.cmd) {
		case 'ingest': {
			const r = await router(c.room);
			const transport = await r.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true, rtcpMux: true });
			const producer = await transport.produce({
				kind: 'video',
				rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: PAYLOAD_TYPE, clockRate: 90000 }], encodings: [{ ssrc: c.ssrc }] },
			});
			producers.set(producer.id, producer);
			return { port: transport.tuple.localPort, producerId: producer.id };
		}
		case 'egress': {
			const r = await router(c.room);
			const transport = await r.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true });
			await transport.connect({ ip: '127.0.0.1', port: c.port });
			const consumer = await transport.consume({ producerId: c.producerId, rtpCapabilities: r.rtpCapabilities, paused: false });
			consumer.observer.once('close', () => transport.close());
			consumers.set(consumer.id, consumer);
			return { consumerId: consumer.id };
		}
		case 'closeEgress': {
			consumers.get(c.consumerId)?.close();
			consumers.delete(c.consumerId);
			return {};
		}
		case 'egressState': {
			const consumer = consumers.get(c.consumerId);
			return { closed: consumer?.closed ?? true, producerPaused: consumer?.producerPaused ?? false };
		}
		case 'pauseIngest': {
			const producer = producers.get(c.producerId);
			await (c.paused ? producer?.pause() : producer?.resume());
			return {};
		}
		case 'closeIngest': {
			producers.get(c.producerId)?.close();
			producers.delete(c.producerId);
			return {};
		}
		case 'release': {
			cascade.release(c.room, c.node, c.producerId);
			return {};
		}
		case 'streams': {
			return { streams: cascade.streams };
		}
		case 'pull': {
			const producer = await cascade.pull(c.room, c.node, c.producerId);
			return { producerId: producer.id };
		}
		case 'push': {
			await cascade.push(c.room, c.node, c.producerId);
			return {};
		}
		case 'exit': {
			cascade.close();
			worker.close();
			redis.disconnect();
			setTimeout(() => process.exit(0), 50);
			return {};
		}
	}
}

process.on('message', (raw: { id: number; command: NodeCommand }) => {
	run(raw.command).then(
		(result) => process.send?.({ id: raw.id, ok: true, result } satisfies NodeReply),
		(error: unknown) => process.send?.({ id: raw.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies NodeReply),
	);
});
process.send?.({ id: 0, ok: true, result: { workerPid: worker.pid } } satisfies NodeReply);
