/**
 * Splits message text into plain text and web links, for rendering as React text and
 * <a> elements (never as HTML). Only http and https URLs become links; anything else
 * (javascript:, data:, file:...) stays text.
 */

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// A scheme, then anything up to whitespace or a character that cannot be in a bare URL here.
const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"'`{}|\\^\u0000-\u001f\u007f]+/gi;
// Punctuation that usually ends the sentence rather than the URL.
const TRAILING = /[.,;:!?'"’”)\]]+$/;

export function linkify(text: string): TextPart[] {
	const parts: TextPart[] = [];
	let last = 0;
	for (const match of text.matchAll(URL_CANDIDATE)) {
		const start = match.index;
		let candidate = match[0];
		const trailing = TRAILING.exec(candidate)?.[0] ?? '';
		candidate = candidate.slice(0, candidate.length - trailing.length);
		// Keep a closing parenthesis that balances one in the URL (Wikipedia links).
		if (trailing.startsWith(')') && count(candidate, '(') > count(candidate, ')')) candidate += ')';
		const href = safeHref(candidate);
		if (!href) continue;
		if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
		parts.push({ kind: 'link', text: candidate, href });
		last = start + candidate.length;
	}
	if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
	return parts;
}

/** The normalised URL if it is a valid http(s) URL with a host, else null. */
export function safeHref(candidate: string): string | null {
	let url: URL;
	try {
		url = new URL(candidate);
	} catch {
		return null;
	}
	if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
	return url.href;
}

function count(text: string, ch: string): number {
	let n = 0;
	for (const c of text) if (c === ch) n++;
	return n;
}
