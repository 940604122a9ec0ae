/**
 * The operator's command line, over the admin HTTP API of a running server:
 *
 *   npm run admin -- rooms [--json]          workers and their load, rooms, participants
 *   npm run admin -- drain [--grace SECONDS] not ready, no new rooms, end meetings after the grace
 *   npm run admin -- restart-worker N        close worker N (its peers move to others) and replace it
 *   npm run admin -- record start|stop|list ROOM   record a meeting, stop, list its recordings
 *
 * Reads the server's configuration (PARLEY_CONFIG / PARLEY_* variables) for its port and
 * admin token; `--url` and `--token` override them. From this machine no token is needed.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../config/index.ts';
import type { AdminRoomsResponse, DrainState } from '../ops/index.ts';
import type { RecordingInfo, RecordingState } from '../protocol/index.ts';

const usage = `usage: npm run admin -- <command> [--url URL] [--token TOKEN]
commands:
  rooms [--json]           workers (pid, CPU, consumers), rooms, participants (worker, kbps, loss, RTT)
  drain [--grace SECONDS]  stop taking new meetings; end the running ones after the grace period
  restart-worker N         close mediasoup worker N: its participants move to the other workers; it is replaced
  record start ROOM        start recording a meeting (everyone in it sees the recording indicator)
  record stop ROOM         stop recording it (waits until the files are finished, then lists them)
  record list ROOM         the room's recordings and their files`;

class UsageError extends Error {}

async function main(): Promise<void> {
	const { values, positionals } = parseArgs({
		options: {
			url: { type: 'string' },
			token: { type: 'string' },
			json: { type: 'boolean', default: false },
			grace: { type: 'string' },
			help: { type: 'boolean', short: 'h', default: false },
		},
		allowPositionals: true,
		strict: true,
	});
	if (values.help) {
		process.stdout.write(`${usage}\n`);
		return;
	}
	const [command, ...rest] = positionals;
	const extra = command === 'restart-worker' ? 1 : command === 'record' ? 2 : 0;
	if (!command || rest.length > extra) throw new UsageError(usage);
	// Only the port and the admin token are needed: no JWT secret required here.
	const config = loadConfig({ env: { ...process.env, PARLEY_DEV: 'true' } });
	const host = ['0.0.0.0', '::', '127.0.0.1'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
	const base = (values.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`).replace(/\/$/, '');
	const token = values.token ?? config.ops.adminToken;
	const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
		const res = await fetch(`${base}/admin${path}`, {
			method,
			headers: {
				...(token ? { authorization: `Bearer ${token}` } : {}),
				...(body !== undefined ? { 'content-type': 'application/json' } : {}),
			},
			...(body !== undefined ? { body: JSON.stringify(body) } : {}),
			signal: AbortSignal.timeout(10_000),
		}).catch((error: unknown) => {
			throw new Error(`cannot reach Parley at ${base}: ${error instanceof Error ? error.message : String(error)}`);
		});
		const json = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
		if (!res.ok) throw new Error(`${res.status}: ${json.error?.message ?? res.statusText}`);
		return json;
	};

	switch (command) {
		case 'rooms': {
			const view = await call<AdminRoomsResponse>('GET', '/rooms');
			process.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : formatRooms(view));
			return;
		}
		case 'drain': {
			const grace = values.grace === undefined ? undefined : Number(values.grace);
			if (grace !== undefined && !(Number.isFinite(grace) && grace >= 0)) throw new UsageError('--grace must be a number of seconds');
			const state = await call<DrainState>('POST', '/drain', grace === undefined ? {} : { graceMs: Math.round(grace * 1000) });
			process.stdout.write(`${formatDrain(state)}\n`);
			return;
		}
		case 'restart-worker': {
			const index = Number(rest[0]);
			if (!Number.isInteger(index) || index < 0) throw new UsageError('restart-worker needs a worker index (see `rooms`)');
			await call<{ restarted: number }>('POST', `/workers/${index}/restart`);
			process.stdout.write(`worker ${index} closed: its participants move to the other workers; it is being replaced\n`);
			return;
		}
		case 'record': {
			const [action, room] = rest;
			if (!room || !['start', 'stop', 'list'].includes(action ?? '')) throw new UsageError('record start|stop|list ROOM');
			const path = `/rooms/${encodeURIComponent(room)}`;
			if (action === 'start') {
				const { recording } = await call<{ recording: RecordingState }>('POST', `${path}/recording/start`);
				process.stdout.write(`recording ${room} since ${new Date(recording.startedAt ?? 0).toISOString()} (id ${recording.id})\n`);
				return;
			}
			const view =
				action === 'stop'
					? await call<{ recordings: RecordingInfo[] }>('POST', `${path}/recording/stop`)
					: await call<{ recordings: RecordingInfo[] }>('GET', `${path}/recordings`);
			process.stdout.write(values.json ? `${JSON.stringify(view.recordings, null, 2)}\n` : formatRecordings(view.recordings));
			return;
		}
		default:
			throw new UsageError(`unknown command ${command}\n${usage}`);
	}
}

function table(rows: (string | number)[][]): string {
	const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
	return rows.map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const dash = (v: number | null, suffix = ''): string => (v === null ? '-' : `${v}${suffix}`);

function formatDrain(d: DrainState): string {
	if (!d.draining) return 'not draining';
	if (d.done) return 'drained: no meetings left (not ready, no new rooms)';
	const left = d.deadline === null ? 0 : Math.max(0, Math.round((d.deadline - Date.now()) / 1000));
	return `draining: ${d.peers} participant(s) still in meetings, ended in ${left} s unless they leave`;
}

function formatRecordings(recordings: RecordingInfo[]): string {
	if (recordings.length === 0) return 'no recordings\n';
	const out: string[] = [];
	for (const r of recordings) {
		const ended = r.endedAt === null ? 'recording now' : `${Math.round((r.endedAt - r.startedAt) / 1000)} s, ${r.stopReason ?? ''}`;
		out.push(`${r.id}  ${new Date(r.startedAt).toISOString()}  ${ended}  ${(r.bytes / 1048576).toFixed(1)} MB  by ${r.startedBy}`);
		if (r.files.length > 0) {
			out.push(
				table([
					['FILE', 'WHO', 'SOURCE', 'CODEC', 'SECONDS', 'KB', 'END'],
					...r.files.map((f) => [f.file, f.name, f.source, f.codec, Math.round((f.endedAt - f.startedAt) / 100) / 10, Math.round(f.bytes / 1024), f.end]),
				]).replace(/^/gm, '  '),
			);
		}
	}
	return `${out.join('\n')}\n`;
}

function formatRooms(view: AdminRoomsResponse): string {
	const out: string[] = [];
	out.push(
		table([
			['WORKER', 'PID', 'PORT', 'CPU', 'RSS MB', 'ROUTERS', 'PEERS', 'CONSUMERS'],
			...view.workers.map((w) => [
				w.index,
				w.pid,
				w.port,
				dash(w.cpuPercent, '%'),
				w.maxRssBytes === null ? '-' : Math.round(w.maxRssBytes / 1048576),
				w.routers,
				w.peers,
				w.consumers,
			]),
		]),
	);
	out.push('');
	const peers = view.rooms.reduce((n, r) => n + r.peers.length, 0);
	out.push(`${view.rooms.length} room(s), ${peers} participant(s); ${formatDrain(view.drain)}`);
	for (const room of view.rooms) {
		out.push('');
		out.push(`room ${room.id} (workers ${room.workers.join(', ')})`);
		if (room.peers.length === 0) {
			out.push('  (empty)');
			continue;
		}
		const rows = table([
			['PEER', 'NAME', 'WORKER', 'UP kbps', 'DOWN kbps', 'LOSS', 'RTT', 'QUALITY', 'PROD', 'CONS'],
			...room.peers.map((p) => [
				p.id,
				p.name,
				p.worker,
				p.sendKbps,
				p.recvKbps,
				dash(p.lossPercent, '%'),
				dash(p.rttMs, ' ms'),
				p.quality ?? '-',
				p.producers,
				p.consumers,
			]),
		]);
		out.push(rows.replace(/^/gm, '  '));
	}
	return `${out.join('\n')}\n`;
}

main().catch((error: unknown) => {
	const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
	process.stderr.write(`${message}\n`);
	process.exit(error instanceof UsageError ? 2 : 1);
});
