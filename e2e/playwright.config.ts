/**
 * End-to-end tests: real Chromium participants (fake camera and microphone) against the
 * real server (built client, mediasoup). `npm run test:e2e`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';

const HTTP_PORT = Number(process.env.E2E_HTTP_PORT ?? 3217);
// Fixed media ports stay below the kernel's ephemeral range (32768-60999), where an outgoing
// connection or a browser's UDP socket can hold them (see test/ports.ts); the specs' own
// servers use E2E_MEDIA_PORT + 4..20, the recorder + 100..159.
const MEDIA_PORT = Number(process.env.E2E_MEDIA_PORT ?? 22170);
const BASE_URL = `http://127.0.0.1:${HTTP_PORT}`;
const root = fileURLToPath(new URL('..', import.meta.url));
const node = JSON.stringify(process.execPath);

export default defineConfig({
	testDir: fileURLToPath(new URL('.', import.meta.url)),
	testIgnore: ['**/.artifacts/**'],
	outputDir: fileURLToPath(new URL('./.artifacts/test-results', import.meta.url)),
	workers: 1,
	fullyParallel: false,
	// CI (`.ci/run` sets CI=true) runs each spec again once if it fails: real media on a shared
	// 2-core machine has timing tails (a layer switch of 1.6 s once in ~10 runs). A spec that
	// passes only on its retry is listed as "flaky" at the end of the run; locally it fails at once.
	retries: process.env.CI ? 1 : 0,
	timeout: 60_000,
	expect: { timeout: 5_000 },
	reporter: 'list',
	use: {
		baseURL: BASE_URL,
		viewport: { width: 1280, height: 720 },
		headless: true,
		trace: 'retain-on-failure',
		screenshot: 'only-on-failure',
		launchOptions: {
			executablePath: CHROMIUM_PATH,
			args: [...CHROMIUM_ARGS],
		},
	},
	webServer: {
		// Build the client first so that the server serves what is being tested.
		command: `${node} node_modules/vite/bin/vite.js build --config client/vite.config.ts --logLevel warn && exec ${node} signaling/main.ts`,
		cwd: root,
		url: `${BASE_URL}/healthz`,
		reuseExistingServer: false,
		timeout: 60_000,
		stdout: 'pipe',
		stderr: 'pipe',
		gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
		env: {
			PARLEY_DEV: 'true',
			PARLEY_HTTP_HOST: '127.0.0.1',
			PARLEY_HTTP_PORT: String(HTTP_PORT),
			PARLEY_HTTP_PUBLIC_URL: BASE_URL,
			PARLEY_MEDIA_LISTEN_IP: '127.0.0.1',
			PARLEY_MEDIA_BASE_PORT: String(MEDIA_PORT),
			PARLEY_MEDIA_WORKERS: '1',
			// The recorder's loopback RTP ports: the developer's range, clear of the specs' own servers.
			PARLEY_RECORDING_RTP_PORT_MIN: String(MEDIA_PORT + 100),
			PARLEY_RECORDING_RTP_PORT_MAX: String(MEDIA_PORT + 159),
			// Recordings need this much free disk (the default, 256 MiB, would fail the specs on a nearly full machine).
			PARLEY_RECORDING_MIN_FREE_BYTES: String(16 * 1024 ** 2),
			PARLEY_LOG_LEVEL: 'warn',
			// SIGTERM at the end drains first: pages are closed by then, but do not wait long.
			PARLEY_OPS_DRAIN_GRACE_MS: '2000',
			PARLEY_DATA_DIR: fileURLToPath(new URL('./.artifacts/server-data', import.meta.url)),
			// Experiments (bench/loss): more server settings as JSON, e.g. {"PARLEY_MEDIA_MIN_OUTGOING_BITRATE":"600000"}.
			...(process.env.E2E_SERVER_ENV ? (JSON.parse(process.env.E2E_SERVER_ENV) as Record<string, string>) : {}),
		},
	},
});
