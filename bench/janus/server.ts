/**
 * Start Debian's Janus (1.1.2) inside the benchmark's network namespace with a
 * configuration written to a temporary directory: only the VideoRoom plugin and the
 * WebSocket transport, ICE on the namespace's veth interface only, no STUN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NetNs } from './netns.ts';

const LIB = '/usr/lib/x86_64-linux-gnu/janus';
const OTHER_PLUGINS = [
	'audiobridge',
	'duktape',
	'echotest',
	'lua',
	'nosip',
	'recordplay',
	'sip',
	'streaming',
	'textroom',
	'videocall',
	'voicemail',
].map((p) => `libjanus_${p}.so`);
const OTHER_TRANSPORTS = ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq'].map((t) => `libjanus_${t}.so`);
const EVENT_HANDLERS = ['gelfevh', 'mqttevh', 'nanomsgevh', 'rabbitmqevh', 'sampleevh', 'wsevh'].map((e) => `libjanus_${e}.so`);

export interface JanusServer {
	pid: number;
	wsUrl: string;
	logFile: string;
	stop(): Promise<void>;
	/** The last lines of its log (for error reports). */
	logTail(lines?: number): string;
}

export async function startJanus(ns: NetNs, options: { wsPort?: number; debugLevel?: number } = {}): Promise<JanusServer> {
	const wsPort = options.wsPort ?? 8188;
	const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-janus-'));
	const logFile = path.join(dir, 'janus.log');
	const w = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
	w(
		'janus.jcfg',
		`general: {
	configs_folder = "${dir}"
	plugins_folder = "${LIB}/plugins"
	transports_folder = "${LIB}/transports"
	events_folder = "${LIB}/events"
	loggers_folder = "${LIB}/loggers"
	debug_level = ${options.debugLevel ?? 3}
	log_to_stdout = false
	log_to_file = "${logFile}"
	session_timeout = 120
	server_name = "parley-bench"
}
certificates: {
}
media: {
	rtp_port_range = "20000-40000"
	dtls_mtu = 1200
	no_media_timer = 5
	min_nack_queue = 300
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = false
	ice_tcp = false
	ice_enforce_list = "${ns.nsInterface}"
	ignore_mdns = true
}
plugins: {
	disable = "${OTHER_PLUGINS.join(',')}"
}
transports: {
	disable = "${OTHER_TRANSPORTS.join(',')}"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
	disable = "${EVENT_HANDLERS.join(',')}"
}
`,
	);
	w(
		'janus.transport.websockets.jcfg',
		`general: {
	json = "compact"
	ws = true
	ws_port = ${wsPort}
	ws_ip = "${ns.nsAddress}"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
`,
	);
	w('janus.plugin.videoroom.jcfg', `general: {\n\tstring_ids = true\n}\n`);

	const child: ChildProcess = spawn('ip', ['netns', 'exec', ns.name, 'janus', '-C', path.join(dir, 'janus.jcfg'), '-F', dir, '-N', '-o'], {
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	let stderr = '';
	child.stderr?.on('data', (d: Buffer) => {
		stderr = (stderr + d.toString()).slice(-4000);
	});
	const logTail = (lines = 30): string => {
		let text = '';
		try {
			text = readFileSync(logFile, 'utf8');
		} catch {
			/* no log yet */
		}
		return `${text.split('\n').slice(-lines).join('\n')}${stderr ? `\nstderr: ${stderr}` : ''}`;
	};
	const stop = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dir, { recursive: true, force: true });
	};
	// `ip netns exec` execs janus, so the child's PID is Janus's.
	const deadline = Date.now() + 20_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) {
			const tail = logTail();
			await stop();
			throw new Error(`janus exited with ${child.exitCode}: ${tail}`);
		}
		if (await canConnect(ns.nsAddress, wsPort)) {
			return { pid: child.pid!, wsUrl: `ws://${ns.nsAddress}:${wsPort}`, logFile, stop, logTail };
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	const tail = logTail();
	await stop();
	throw new Error(`janus did not open its WebSocket port within 20 s: ${tail}`);
}

function canConnect(host: string, port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect({ host, port });
		s.once('connect', () => {
			s.destroy();
			resolve(true);
		});
		s.once('error', () => resolve(false));
		s.setTimeout(500, () => {
			s.destroy();
			resolve(false);
		});
	});
}
