/**
 * One hostile client against a real Parley server, on loopback, bounded in time: does
 * `/healthz` stay fast (p99 < 50 ms) while one identity (with every socket it is allowed)
 * and one address do their worst? Phases: a quiet baseline, then the attack:
 *
 *   - viewport spam over as many consumers of one producer as the server allows;
 *   - transport and consumer creation in a loop, bad producers, 100 concurrent produces;
 *   - chat, typing and presence floods from every socket of the identity;
 *   - slow HTTP requests (headers never finished) and WebSockets that never authenticate.
 *
 * The probe connects from 127.0.0.2, so the per-address caps that stop the attacker
 * (127.0.0.1) do not hide the server's own latency. Prints a table, writes JSON to
 * bench/results/hostile-<label>.json.
 *
 *   node bench/hostile/load.ts [--label after] [--root <checkout to run>] [--seconds 8]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { io as connect, type Socket } from 'socket.io-client';
import { freePort } from '../../test/ports.ts';


const { values: args } = parseArgs({
	options: {
		label: { type: 'string', default: 'after' },
		root: { type: 'string', default: path.join(import.meta.dirname, '..', '..') },
		seconds: { type: 'string', default: '8' },
		'media-port': { type: 'string', default: process.env.BENCH_MEDIA_PORT ?? '23210' },
	},
});
const ATTACK_MS = Number(args.seconds) * 1000;
const BASELINE_MS = 4000;
const repo = path.join(import.meta.dirname, '..', '..');

type Answer = { ok: boolean; error?: { code: string }; data?: Record<string, unknown> };

function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function cpuMs(pid: number): number {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
	return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, 100 Hz
}
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** GET /healthz from 127.0.0.2 every 25 ms; latencies in ms (failures: 5000). */
function probe(port: number, untilMs: number): Promise<{ ms: number[]; failed: number }> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const ms: number[] = [];
	let failed = 0;
	return new Promise((resolve) => {
		const end = performance.now() + untilMs;
		const tick = (): void => {
			if (performance.now() >= end) {
				agent.destroy();
				return resolve({ ms, failed });
			}
			const started = performance.now();
			const req = http.get({ host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.0.2', agent, timeout: 5000 }, (res) => {
				res.resume();
				res.on('end', () => {
					ms.push(performance.now() - started);
					setTimeout(tick, 25);
				});
			});
			req.on('timeout', () => req.destroy(new Error('timeout')));
			req.on('error', () => {
				failed++;
				ms.push(5000);
				setTimeout(tick, 25);
			});
		};
		tick();
	});
}

async function main(): Promise<void> {
	const root = path.resolve(args.root!);
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-hostile-'));
	const secret = randomBytes(24).toString('hex');
	const port = await freePort();
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARLEY_') && v !== undefined) env[k] = v;
	Object.assign(env, {
		PARLEY_DEV: 'false',
		PARLEY_AUTH_JWT_SECRETS: secret,
		PARLEY_HTTP_HOST: '127.0.0.1',
		PARLEY_HTTP_PORT: String(port),
		PARLEY_MEDIA_WORKERS: '1',
		PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
		PARLEY_MEDIA_BASE_PORT: args['media-port']!,
		PARLEY_DATA_DIR: dataDir,
		PARLEY_LOG_LEVEL: 'error',
	});
	const server = spawn(process.execPath, [path.join(root, 'signaling', 'main.ts')], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
	const url = `http://127.0.0.1:${port}`;
	const sockets: Socket[] = [];
	const raw: net.Socket[] = [];
	try {
		for (let i = 0; ; i++) {
			if (await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false)) break;
			if (i > 150) throw new Error('the server did not start');
			await new Promise((r) => setTimeout(r, 200));
		}
		const now = Math.floor(Date.now() / 1000);
		const token = (sub: string) => jwt.sign({ sub, room: 'bench', name: sub, iat: now, exp: now + 600 }, secret, { audience: 'parley', issuer: 'parley' });
		const open = (t: string): Promise<Socket | null> =>
			new Promise((resolve) => {
				const s = connect(url, { auth: { token: t }, transports: ['websocket'], forceNew: true, reconnection: false });
				sockets.push(s);
				s.once('connect', () => resolve(s));
				s.once('connect_error', () => resolve(null));
			});
		const ask = (s: Socket, event: string, payload: unknown): Promise<Answer> =>
			(s.timeout(10_000).emitWithAck as unknown as (e: string, p: unknown) => Promise<Answer>)(event, payload).catch(() => ({ ok: false, error: { code: 'timeout' } }));

		// A publisher with a simulcast camera (synthetic parameters: no media needed to negotiate).
		const victim = (await open(token('victim')))!;
		const caps = (await ask(victim, 'media:getRouterRtpCapabilities', {})).data!.rtpCapabilities;
		await ask(victim, 'room:join', { rtpCapabilities: caps });
		const send = (await ask(victim, 'media:createTransport', { direction: 'send' })).data!.id;
		const vp8 = { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }] };
		const simulcast = {
			mid: '0',
			codecs: [vp8],
			headerExtensions: [],
			encodings: [0, 1, 2].map((i) => ({ rid: `r${i}`, scaleResolutionDownBy: 4 / 2 ** i, scalabilityMode: 'L1T3', ssrc: 1000 + i })),
			rtcp: { cname: 'victim' },
		};
		const producerId = (await ask(victim, 'media:produce', { transportId: send, kind: 'video', source: 'camera', rtpParameters: simulcast, dimensions: { width: 1280, height: 720 } })).data!.producerId;

		const baseline = await probe(port, BASELINE_MS);
		const cpuBefore = cpuMs(server.pid!);

		// The attacker: one identity, every socket the server lets it open.
		const attackerToken = token('mallory');
		const mine = (await Promise.all(Array.from({ length: 20 }, () => open(attackerToken)))).filter((s): s is Socket => s !== null);
		const main = mine[0]!;
		await ask(main, 'room:join', { rtpCapabilities: caps });
		const counts: Record<string, { ok: number; refused: number }> = {};
		const count = (what: string, a: Answer): void => {
			counts[what] ??= { ok: 0, refused: 0 };
			counts[what]![a.ok ? 'ok' : 'refused']++;
		};
		const recvs: string[] = [];
		for (let i = 0; i < 200; i++) {
			const a = await ask(main, 'media:createTransport', { direction: 'recv' });
			count('createTransport', a);
			if (a.ok) recvs.push(a.data!.id as string);
		}
		const consumers: string[] = [];
		for (let i = 0; i < 200 && recvs.length; i++) {
			const a = await ask(main, 'media:consume', { transportId: recvs[0], producerId });
			count('consume', a);
			if (a.ok) consumers.push(a.data!.id as string);
		}
		const mySend = (await ask(main, 'media:createTransport', { direction: 'send' })).data?.id;
		const produced = await Promise.all(
			Array.from({ length: 100 }, (_, i) =>
				ask(main, 'media:produce', { transportId: mySend, kind: 'video', source: 'screen', rtpParameters: { ...simulcast, encodings: [{ ssrc: 5000 + i }] } }),
			),
		);
		for (const a of produced) count('concurrent produce (screen)', a);
		count('bad producer (audio kind, VP8)', await ask(main, 'media:produce', { transportId: mySend, kind: 'audio', source: 'microphone', rtpParameters: { ...simulcast, encodings: [{ ssrc: 7000 }] } }));

		// Slow HTTP requests and sockets that never authenticate.
		for (let i = 0; i < 200; i++) {
			const s = net.connect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
			s.on('error', () => undefined);
			raw.push(s);
		}
		for (let i = 0; i < 300; i++) {
			const s = net.connect(port, '127.0.0.1', () =>
				s.write(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`),
			);
			s.on('error', () => undefined);
			raw.push(s);
		}

		// The floods, each keeping requests in flight for the whole attack.
		const until = performance.now() + ATTACK_MS;
		let flip = 0;
		const flood = async (s: Socket, what: string, payload: () => [string, unknown], inFlight: number): Promise<void> => {
			await Promise.all(
				Array.from({ length: inFlight }, async () => {
					while (performance.now() < until && s.connected) {
						const [event, body] = payload();
						count(what, await ask(s, event, body));
					}
				}),
			);
		};
		const probing = probe(port, ATTACK_MS);
		const viewports = (): [string, unknown] => {
			flip++;
			return ['media:setViewports', { viewports: consumers.slice(0, 200).map((consumerId) => ({ consumerId, width: flip % 2 ? 1280 : 160, height: flip % 2 ? 720 : 90, visible: flip % 3 !== 0 })) }];
		};
		let n = 0;
		await Promise.all([
			consumers.length ? flood(main, 'setViewports', viewports, 20) : Promise.resolve(),
			...mine.map((s, i) => flood(s, 'chat:send', () => ['chat:send', { id: `m-${i}-${String(n++).padStart(8, '0')}`, text: 'spam' }], 5)),
			...mine.map((s) => flood(s, 'chat:typing', () => ['chat:typing', { typing: n++ % 2 === 0 }], 5)),
			...mine.map((s) => flood(s, 'presence:set', () => ['presence:set', { state: n++ % 2 ? 'away' : 'online' }], 3)),
		]);
		const attack = await probing;
		const cpuUsed = cpuMs(server.pid!) - cpuBefore;
		const stillOpen = raw.filter((s) => !s.destroyed && s.readyState === 'open').length;
		const serverFds = fds(server.pid!);

		const summary = (p: { ms: number[]; failed: number }) => ({
			samples: p.ms.length,
			failed: p.failed,
			p50: +percentile(p.ms, 50).toFixed(1),
			p99: +percentile(p.ms, 99).toFixed(1),
			max: +Math.max(...p.ms).toFixed(1),
		});
		const result = {
			label: args.label,
			root,
			commit: (() => {
				try {
					return readFileSync(path.join(root, '.git'), 'utf8').trim();
				} catch {
					return null;
				}
			})(),
			attackSeconds: ATTACK_MS / 1000,
			healthz: { baseline: summary(baseline), attack: summary(attack) },
			attacker: {
				socketsAccepted: mine.length,
				transports: recvs.length,
				consumersOfOneProducer: consumers.length,
				requests: counts,
			},
			server: {
				cpuMsDuringAttack: Math.round(cpuUsed),
				cpuPercentDuringAttack: Math.round((cpuUsed / (ATTACK_MS + 1)) * 100),
				openFdsAtEnd: serverFds,
				slowConnectionsStillOpen: stillOpen,
			},
			goal: { healthzP99UnderAttackMs: 50, met: percentile(attack.ms, 99) < 50 },
		};
		const rows: [string, string][] = [
			['/healthz p50 / p99 / max, quiet (ms)', `${result.healthz.baseline.p50} / ${result.healthz.baseline.p99} / ${result.healthz.baseline.max}`],
			['/healthz p50 / p99 / max, under attack (ms)', `${result.healthz.attack.p50} / ${result.healthz.attack.p99} / ${result.healthz.attack.max}`],
			['/healthz failures under attack', String(attack.failed)],
			['attacker sockets accepted (of 20)', String(mine.length)],
			['recv transports accepted (of 200)', String(recvs.length)],
			['consumers of one producer (of 200)', String(consumers.length)],
			['concurrent screen produces accepted (of 100)', String(counts['concurrent produce (screen)']?.ok ?? 0)],
			['bad producer accepted', String(counts['bad producer (audio kind, VP8)']?.ok ?? 0)],
			...Object.entries(counts)
				.filter(([k]) => ['setViewports', 'chat:send', 'chat:typing', 'presence:set'].includes(k))
				.map(([k, v]): [string, string] => [`${k} accepted / refused`, `${v.ok} / ${v.refused}`]),
			['server CPU during the attack', `${result.server.cpuPercentDuringAttack} % (${result.server.cpuMsDuringAttack} ms)`],
			['slow / unauthenticated connections still open (of 500)', String(stillOpen)],
			['server open file descriptors at the end', String(serverFds)],
			['goal: /healthz p99 < 50 ms under attack', result.goal.met ? 'met' : 'MISSED'],
		];
		const width = Math.max(...rows.map(([k]) => k.length));
		console.log(`\nhostile client vs Parley (${args.label}, ${root})`);
		for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
		const dir = path.join(repo, 'bench', 'results');
		mkdirSync(dir, { recursive: true });
		const file = path.join(dir, `hostile-${args.label}.json`);
		writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
		console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
	} finally {
		for (const s of sockets) s.disconnect();
		for (const s of raw) s.destroy();
		server.kill('SIGTERM');
		await new Promise((r) => server.once('exit', r));
		rmSync(dataDir, { recursive: true, force: true });
	}
}

await main();
process.exit(0);
