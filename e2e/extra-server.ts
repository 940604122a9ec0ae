/**
 * A second Parley server for specs that need other settings than the shared one (e.g. TURN
 * configured): the benchmark's server starter (bench/lib/parleyServer.ts) with the shared
 * server's settings (dev mode), on E2E_HTTP_PORT + 1 and media port E2E_MEDIA_PORT + 10,
 * serving the client the shared web server already built. Stopped by PID.
 */
import { startParley } from '../bench/lib/parleyServer.ts';
import config from './playwright.config.ts';

export interface ExtraServer {
	baseURL: string;
	mediaPort: number;
	pid: number;
	output(): string;
	stop(): Promise<void>;
}

function sharedEnv(): Record<string, string> {
	const server = Array.isArray(config.webServer) ? config.webServer[0] : config.webServer;
	return { ...(server?.env ?? {}) } as Record<string, string>;
}

export async function startExtraServer(extraEnv: Record<string, string>): Promise<ExtraServer> {
	const shared = sharedEnv();
	const httpPort = Number(shared.PARLEY_HTTP_PORT) + 1;
	const mediaPort = Number(shared.PARLEY_MEDIA_BASE_PORT) + 10;
	const baseURL = `http://127.0.0.1:${httpPort}`;
	// The shared server's data folder is its own: the starter makes a throwaway one.
	const { PARLEY_DATA_DIR: _ownData, ...settings } = shared;
	const server = await startParley({
		httpPort,
		mediaPort,
		env: { ...settings, PARLEY_HTTP_PORT: String(httpPort), PARLEY_HTTP_PUBLIC_URL: baseURL, PARLEY_MEDIA_BASE_PORT: String(mediaPort), ...extraEnv },
	});
	return { baseURL, mediaPort, pid: server.pid, output: server.output, stop: server.stop };
}
