/** CPU and memory of processes from /proc (Linux), and a few statistics helpers. */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | undefined {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after "(comm)"; comm may contain spaces.
		return text.slice(text.lastIndexOf(')') + 2).split(' ');
	} catch {
		return undefined;
	}
}

/** User + system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number): number {
	const f = statFields(pid);
	if (!f) return NaN;
	return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

export function rssBytes(pid: number): number {
	try {
		const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) * 1024 : NaN;
	} catch {
		return NaN;
	}
}

/** PIDs whose parent is `pid` (optionally with this comm, e.g. "mediasoup-worke" — comm is cut at 15 characters). */
export function childrenOf(pid: number, comm?: string): number[] {
	const out: number[] = [];
	for (const name of readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const text = readFileSync(`/proc/${name}/stat`, 'utf8');
			const c = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
			const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
			if (ppid === pid && (!comm || c === comm)) out.push(Number(name));
		} catch {
			/* exited */
		}
	}
	return out;
}

/** Machine-wide CPU jiffies: total and idle (incl. iowait). */
export function machineCpu(): { total: number; idle: number } {
	const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
	const v = line.split(/\s+/).slice(1).map(Number);
	const total = v.reduce((a, b) => a + b, 0);
	return { total, idle: (v[3] ?? 0) + (v[4] ?? 0) };
}

export function percentile(xs: number[], p: number): number {
	if (xs.length === 0) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
	return s[i]!;
}
