/**
 * How Parley's browser tests and benchmarks launch Chromium here: Debian's build
 * (`npx playwright install` cannot download), headless, fake camera and microphone.
 */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream=fps=30',
	'--allow-loopback-in-peer-connection',
];
