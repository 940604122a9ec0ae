/**
 * A network namespace for Janus, which leaves loopback out of its ICE candidates: a veth
 * pair with addresses of its own (10.213.0.1/30 on the bots' side, 10.213.0.2/30 inside
 * the namespace). Traffic only ever goes between those two addresses. Needs root.
 */
import { execFileSync } from 'node:child_process';

export interface NetNs {
	name: string;
	/** The bots' end (host namespace). */
	hostAddress: string;
	/** Janus's end (inside the namespace). */
	nsAddress: string;
	nsInterface: string;
	remove(): void;
}

function ip(args: string[]): void {
	execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createNetNs(tag = String(process.pid)): NetNs {
	const name = `parley-bench-${tag}`;
	// Interface names: at most 15 characters, and not "veth*" (werift skips those).
	const hostIf = `pbh${tag}`.slice(0, 15);
	const nsIf = `pbn${tag}`.slice(0, 15);
	const ns: NetNs = {
		name,
		hostAddress: '10.213.0.1',
		nsAddress: '10.213.0.2',
		nsInterface: nsIf,
		remove: () => {
			try {
				ip(['link', 'del', hostIf]);
			} catch {
				/* gone with the namespace already */
			}
			try {
				ip(['netns', 'del', name]);
			} catch {
				/* not there */
			}
		},
	};
	ns.remove(); // leftovers of an earlier run with the same tag
	try {
		ip(['netns', 'add', name]);
		ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
		ip(['link', 'set', nsIf, 'netns', name]);
		ip(['addr', 'add', `${ns.hostAddress}/30`, 'dev', hostIf]);
		ip(['link', 'set', hostIf, 'up']);
		ip(['netns', 'exec', name, 'ip', 'addr', 'add', `${ns.nsAddress}/30`, 'dev', nsIf]);
		ip(['netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up']);
		ip(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
	} catch (error) {
		ns.remove();
		const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
		throw new Error(`cannot create network namespace ${name}: ${stderr || (error as Error).message}`);
	}
	return ns;
}
