/**
 * A throwaway coturn (Debian's `turnserver`) for the TURN tests: loopback only, its own
 * ports, REST-API credentials (`use-auth-secret`), TURN over UDP and TCP on one port and
 * TLS on another with a self-signed certificate made with openssl. Loopback peers are
 * allowed (the SFU is on 127.0.0.1; coturn refuses 127.0.0.0/8 peers by default). Stopped
 * by its PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface CoturnOptions {
	/** TURN over UDP and TCP. */
	port: number;
	/** TURN over TLS. */
	tlsPort: number;
	/** UDP ports coturn relays from. */
	relayPorts: [min: number, max: number];
	secret: string;
	realm?: string;
}

export interface Coturn {
	pid: number;
	/** The URLs clients get: UDP, TCP and TLS. */
	urls: { udp: string; tcp: string; tls: string };
	log(): string;
	stop(): Promise<void>;
}

/** Ports for the test's coturn: E2E_TURN_PORT (UDP/TCP), +1 TLS; E2E_TURN_RELAY_PORTS "min-max". */
export function coturnPorts(): Pick<CoturnOptions, 'port' | 'tlsPort' | 'relayPorts'> {
	const port = Number(process.env.E2E_TURN_PORT ?? 24780);
	const [min, max] = (process.env.E2E_TURN_RELAY_PORTS ?? '29500-29599').split('-').map(Number) as [number, number];
	return { port, tlsPort: port + 1, relayPorts: [min, max] };
}

export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-'));
	const cert = path.join(dir, 'cert.pem');
	const key = path.join(dir, 'key.pem');
	const logFile = path.join(dir, 'turn.log');
	execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
		'-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
	const args = [
		'--listening-ip=127.0.0.1',
		'--relay-ip=127.0.0.1',
		`--listening-port=${options.port}`,
		`--tls-listening-port=${options.tlsPort}`,
		// No RFC 5780 alternative ports (port+1 would collide with the TLS port).
		'--no-rfc5780',
		'--no-dtls',
		`--min-port=${options.relayPorts[0]}`,
		`--max-port=${options.relayPorts[1]}`,
		'--use-auth-secret',
		`--static-auth-secret=${options.secret}`,
		`--realm=${options.realm ?? 'parley.test'}`,
		'--fingerprint',
		'--allow-loopback-peers',
		'--no-cli',
		'--no-multicast-peers',
		`--cert=${cert}`,
		`--pkey=${key}`,
		`--log-file=${logFile}`,
		'--simple-log',
		`--pidfile=${path.join(dir, 'turn.pid')}`,
		`--userdb=${path.join(dir, 'turndb')}`,
		'--no-stdout-log',
		// Nothing from the machine's /etc/turnserver.conf.
		'-c', '/dev/null',
	];
	const child: ChildProcess = spawn('turnserver', args, { stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
	const log = (): string => {
		let text = stderr;
		try {
			text += readFileSync(logFile, 'utf8').slice(-8000);
		} catch {
			// Not written yet.
		}
		return text;
	};
	const stop = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const deadline = Date.now() + 10_000;
	for (;;) {
		if (child.exitCode !== null) {
			const text = log();
			await stop();
			throw new Error(`turnserver exited (${child.exitCode}):\n${text}`);
		}
		if ((await listening(options.port)) && (await listening(options.tlsPort))) break;
		if (Date.now() > deadline) {
			const text = log();
			await stop();
			throw new Error(`turnserver did not listen on ${options.port}/${options.tlsPort} in 10 s:\n${text}`);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	return {
		pid: child.pid!,
		urls: {
			udp: `turn:127.0.0.1:${options.port}?transport=udp`,
			tcp: `turn:127.0.0.1:${options.port}?transport=tcp`,
			tls: `turns:127.0.0.1:${options.tlsPort}?transport=tcp`,
		},
		log,
		stop,
	};
}

function listening(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect({ host: '127.0.0.1', port }, () => {
			s.destroy();
			resolve(true);
		});
		s.once('error', () => resolve(false));
	});
}
