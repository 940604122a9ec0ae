/**
 * Just enough of a TURN client (RFC 8656 Allocate with long-term credentials, RFC 5389
 * message format) to ask a TURN server for a relay over UDP, TCP or TLS and read its
 * answer: the tests use it to check which credentials coturn accepts. Not a general
 * STUN library: one request/answer at a time, no retransmissions beyond a simple timer.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';

const MAGIC = 0x2112a442;
const ALLOCATE = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ATTR = {
	username: 0x0006,
	messageIntegrity: 0x0008,
	errorCode: 0x0009,
	realm: 0x0014,
	nonce: 0x0015,
	xorRelayedAddress: 0x0016,
	requestedTransport: 0x0019,
} as const;

export type TurnTransport = 'udp' | 'tcp' | 'tls';

export interface AllocateResult {
	/** Whether the server granted the allocation. */
	ok: boolean;
	/** The STUN error code of a refusal (401: bad or expired credential). */
	errorCode: number | null;
	reason: string;
	/** The relayed transport address granted (host:port). */
	relayed: string | null;
}

interface Message {
	type: number;
	attributes: Map<number, Buffer>;
}

function encode(type: number, attributes: [number, Buffer][], integrityKey?: Buffer): Buffer {
	const tid = randomBytes(12);
	const parts: Buffer[] = [];
	for (const [t, value] of attributes) parts.push(tlv(t, value));
	let body = Buffer.concat(parts);
	const header = (length: number): Buffer => {
		const h = Buffer.alloc(20);
		h.writeUInt16BE(type, 0);
		h.writeUInt16BE(length, 2);
		h.writeUInt32BE(MAGIC, 4);
		tid.copy(h, 8);
		return h;
	};
	if (integrityKey) {
		// The HMAC covers the message up to the attribute, with the length counting it (24 bytes).
		const hmac = createHmac('sha1', integrityKey).update(Buffer.concat([header(body.length + 24), body])).digest();
		body = Buffer.concat([body, tlv(ATTR.messageIntegrity, hmac)]);
	}
	return Buffer.concat([header(body.length), body]);
}

function tlv(type: number, value: Buffer): Buffer {
	const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
	padded.writeUInt16BE(type, 0);
	padded.writeUInt16BE(value.length, 2);
	value.copy(padded, 4);
	return padded;
}

function decode(data: Buffer): Message {
	const type = data.readUInt16BE(0);
	const length = data.readUInt16BE(2);
	const attributes = new Map<number, Buffer>();
	let offset = 20;
	while (offset + 4 <= 20 + length) {
		const t = data.readUInt16BE(offset);
		const l = data.readUInt16BE(offset + 2);
		if (!attributes.has(t)) attributes.set(t, data.subarray(offset + 4, offset + 4 + l));
		offset += 4 + Math.ceil(l / 4) * 4;
	}
	return { type, attributes };
}

/** One connection to the server that carries STUN messages (datagrams, or framed by length on a stream). */
interface Channel {
	request(message: Buffer): Promise<Message>;
	close(): void;
}

async function open(transport: TurnTransport, host: string, port: number, timeoutMs: number): Promise<Channel> {
	if (transport === 'udp') {
		const socket = dgram.createSocket('udp4');
		await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
		return {
			request: (message) =>
				new Promise((resolve, reject) => {
					const timer = setTimeout(() => reject(new Error(`no TURN answer over udp in ${timeoutMs} ms`)), timeoutMs);
					socket.once('message', (reply) => {
						clearTimeout(timer);
						resolve(decode(reply));
					});
					socket.send(message, port, host);
				}),
			close: () => socket.close(),
		};
	}
	const stream: net.Socket = await new Promise((resolve, reject) => {
		const s =
			transport === 'tls'
				? // The test's coturn has a self-signed certificate.
					tls.connect({ host, port, rejectUnauthorized: false }, () => resolve(s))
				: net.connect({ host, port }, () => resolve(s));
		s.once('error', reject);
	});
	let buffered = Buffer.alloc(0);
	let waiting: ((m: Message) => void) | null = null;
	stream.on('data', (chunk: Buffer) => {
		buffered = Buffer.concat([buffered, chunk]);
		while (buffered.length >= 20 && buffered.length >= 20 + buffered.readUInt16BE(2)) {
			const size = 20 + buffered.readUInt16BE(2);
			const message = decode(buffered.subarray(0, size));
			buffered = buffered.subarray(size);
			waiting?.(message);
			waiting = null;
		}
	});
	stream.on('error', () => {});
	return {
		request: (message) =>
			new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no TURN answer over ${transport} in ${timeoutMs} ms`)), timeoutMs);
				waiting = (m) => {
					clearTimeout(timer);
					resolve(m);
				};
				stream.write(message);
			}),
		close: () => stream.destroy(),
	};
}

function errorOf(message: Message): { code: number; reason: string } | null {
	const e = message.attributes.get(ATTR.errorCode);
	if (!e || e.length < 4) return null;
	return { code: (e[2]! & 0x7) * 100 + e[3]!, reason: e.subarray(4).toString('utf8') };
}

function xorAddress(value: Buffer): string {
	const port = value.readUInt16BE(2) ^ (MAGIC >>> 16);
	const ip = (value.readUInt32BE(4) ^ MAGIC) >>> 0;
	return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

/**
 * Ask for a UDP relay with a username and password: the first Allocate gets the realm and
 * nonce (401), the second carries the credential.
 */
export async function allocate(options: {
	transport: TurnTransport;
	host: string;
	port: number;
	username: string;
	password: string;
	timeoutMs?: number;
}): Promise<AllocateResult> {
	const channel = await open(options.transport, options.host, options.port, options.timeoutMs ?? 3000);
	try {
		const udp = Buffer.from([17, 0, 0, 0]);
		const challenge = await channel.request(encode(ALLOCATE, [[ATTR.requestedTransport, udp]]));
		const realm = challenge.attributes.get(ATTR.realm);
		const nonce = challenge.attributes.get(ATTR.nonce);
		if (!realm || !nonce) {
			const error = errorOf(challenge);
			return { ok: false, errorCode: error?.code ?? null, reason: error?.reason ?? 'no realm/nonce in the challenge', relayed: null };
		}
		const key = createHash('md5').update(`${options.username}:${realm.toString('utf8')}:${options.password}`).digest();
		const answer = await channel.request(
			encode(
				ALLOCATE,
				[
					[ATTR.requestedTransport, udp],
					[ATTR.username, Buffer.from(options.username, 'utf8')],
					[ATTR.realm, realm],
					[ATTR.nonce, nonce],
				],
				key,
			),
		);
		if (answer.type === ALLOCATE_SUCCESS) {
			const relayed = answer.attributes.get(ATTR.xorRelayedAddress);
			return { ok: true, errorCode: null, reason: '', relayed: relayed ? xorAddress(relayed) : null };
		}
		const error = errorOf(answer);
		return { ok: false, errorCode: error?.code ?? null, reason: error?.reason ?? `answer type 0x${answer.type.toString(16)}`, relayed: null };
	} finally {
		channel.close();
	}
}
