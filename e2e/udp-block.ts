/**
 * Blocks UDP to and from one local port with an nftables table of our own (root and
 * Debian's `nftables` needed): packets to the port and from it are dropped on the input
 * hook, which on loopback catches both directions. Chromium's
 * --force-webrtc-ip-handling-policy=disable_non_proxied_udp does not block UDP here
 * (loopback, no proxy), so this is how a UDP-hostile network is made. Each block has its
 * own table (named after the port), deleted by unblock() (and before creating it, in case
 * an earlier run was killed).
 */
import { execFileSync } from 'node:child_process';

export interface UdpBlock {
	unblock(): void;
}

const table = (port: number): string => `parley_e2e_udp_${port}`;

function nft(script: string): void {
	execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Whether this process can create nftables tables (root, nft installed). */
export function canBlockUdp(): boolean {
	try {
		execFileSync('nft', ['list', 'tables'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

function remove(port: number): void {
	try {
		nft(`delete table inet ${table(port)}\n`);
	} catch {
		// Not there.
	}
}

export function blockUdp(port: number): UdpBlock {
	if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port ${port}`);
	remove(port);
	nft(
		[
			`table inet ${table(port)} {`,
			'\tchain input {',
			'\t\ttype filter hook input priority -10; policy accept;',
			`\t\tudp dport ${port} drop`,
			`\t\tudp sport ${port} drop`,
			'\t}',
			'}',
			'',
		].join('\n'),
	);
	let done = false;
	return {
		unblock: () => {
			if (done) return;
			done = true;
			remove(port);
		},
	};
}
