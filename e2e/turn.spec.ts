/**
 * TURN through coturn with REST-API credentials (use-auth-secret). The spec starts its own
 * coturn (loopback, E2E_TURN_PORT for UDP/TCP, +1 for TLS with a self-signed certificate,
 * relay ports E2E_TURN_RELAY_PORTS) and a second Parley server configured with it.
 *
 * - coturn grants a relay to the credentials Parley mints, over UDP, TCP and TLS, and
 *   refuses expired and forged ones (a small TURN client speaks to it, turn-client.ts).
 * - Two participants forced to relay (iceTransportPolicy 'relay', set test-side on their
 *   RTCPeerConnections; one of them may use only the TLS URL) join with the ICE servers
 *   the server hands out, and media flows both ways through coturn.
 */
import { expect, expectMediaFlowing, join, remoteTile, test, uniqueRoom } from './fixtures.ts';
import type { BrowserContext } from '@playwright/test';
import { coturnPorts, startCoturn, type Coturn } from './coturn.ts';
import { startExtraServer, type ExtraServer } from './extra-server.ts';
import { selectedPaths } from './media-helpers.ts';
import { allocate } from './turn-client.ts';
import { turnIceServers } from '../signaling/turn/credentials.ts';
import config from './playwright.config.ts';

// The test's coturn has a self-signed certificate: Chromium verifies TURN/TLS certificates
// like any other, so this browser is told to accept it.
test.use({ launchOptions: { ...config.use?.launchOptions, args: [...(config.use?.launchOptions?.args ?? []), '--ignore-certificate-errors'] } });

const SECRET = `e2e-turn-secret-${Math.random().toString(36).slice(2)}`;
let coturn: Coturn;
let server: ExtraServer;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
	coturn = await startCoturn({ ...coturnPorts(), secret: SECRET });
	server = await startExtraServer({
		PARLEY_TURN_URLS: [coturn.urls.udp, coturn.urls.tcp, coturn.urls.tls].join(','),
		PARLEY_TURN_SECRET: SECRET,
		PARLEY_TURN_CREDENTIAL_TTL_SECONDS: '600',
	});
});

test.afterAll(async () => {
	await server?.stop();
	await coturn?.stop();
});

test('coturn relays with the minted credentials over UDP, TCP and TLS and refuses expired or forged ones', async () => {
	const { port, tlsPort } = coturnPorts();
	const turn = { urls: ['turn:unused'], secret: SECRET, credentialTtlSeconds: 600 };
	const good = turnIceServers(turn, 'alice')[0]!;
	const expired = turnIceServers(turn, 'alice', Date.now() - 601_000)[0]!;
	const forged = turnIceServers({ ...turn, secret: 'not-the-shared-secret' }, 'alice')[0]!;
	for (const transport of ['udp', 'tcp', 'tls'] as const) {
		const target = { transport, host: '127.0.0.1', port: transport === 'tls' ? tlsPort : port };
		const granted = await allocate({ ...target, username: good.username, password: good.credential });
		expect(granted, `${transport}: minted credential`).toMatchObject({ ok: true });
		expect(granted.relayed, `${transport}: a relayed address`).toMatch(/^127\.0\.0\.1:\d+$/);
		for (const [what, bad] of [['expired', expired], ['forged', forged]] as const) {
			const refused = await allocate({ ...target, username: bad.username, password: bad.credential });
			expect(refused, `${transport}: ${what} credential`).toMatchObject({ ok: false, errorCode: 401 });
		}
	}
});

/** Init script: every RTCPeerConnection relays only, and keeps only the TURN URLs matching `only`. */
function forceRelay(only: string | null): void {
	type Config = { iceServers?: { urls: string | string[] }[]; iceTransportPolicy?: string };
	const g = globalThis as unknown as { RTCPeerConnection: new (config?: Config, ...rest: unknown[]) => object };
	const Base = g.RTCPeerConnection;
	const adjust = (config: Config = {}): Config => ({
		...config,
		iceTransportPolicy: 'relay',
		iceServers: (config.iceServers ?? [])
			.map((s) => ({ ...s, urls: ([] as string[]).concat(s.urls).filter((u) => only === null || u.startsWith(only)) }))
			.filter((s) => s.urls.length > 0),
	});
	g.RTCPeerConnection = class extends Base {
		constructor(config?: Config, ...rest: unknown[]) {
			super(adjust(config), ...rest);
		}
	};
}


test('participants forced to relay join through coturn (UDP and TLS) and media flows both ways', async ({ participant }) => {
	test.setTimeout(60_000);
	const room = uniqueRoom('turn');
	const relay = await participant('Relay', { baseURL: server.baseURL });
	const tls = await participant('RelayTls', { baseURL: server.baseURL });
	const useServer = async (context: BrowserContext, only: string | null): Promise<void> => {
		await context.addInitScript(forceRelay, only);
	};
	await useServer(relay.context, null);
	await useServer(tls.context, 'turns:');
	await join(relay.page, { room, name: 'Relay' });
	await join(tls.page, { room, name: 'RelayTls' });
	await expect(remoteTile(relay.page, 'RelayTls')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
	await expect(remoteTile(tls.page, 'Relay')).toHaveAttribute('data-video', 'on', { timeout: 15_000 });
	await expectMediaFlowing(relay.page, 'Relay receiving RelayTls');
	await expectMediaFlowing(tls.page, 'RelayTls receiving Relay');
	expect((await selectedPaths(relay.page)).every((p) => p.startsWith('relay/')), 'Relay is relayed').toBe(true);
	expect(await selectedPaths(tls.page)).toEqual(['relay/tls', 'relay/tls']);
	await tls.page.getByTestId('toggle-stats').click();
	await expect(tls.page.getByTestId('stats-path')).toHaveText('relayed (TURN over TLS)');
	expect([...relay.pageErrors, ...tls.pageErrors]).toEqual([]);
});
