/**
 * Security headers for every answer (helmet): a strict Content-Security-Policy that the
 * built client passes (no inline script or style, only this origin; WebAssembly may be
 * compiled, for the background effect's model), no framing by other
 * sites, no referrer (the page may be opened with a join token in its address).
 */
import helmet from 'helmet';
import type { RequestHandler } from 'express';

export function securityHeaders(): RequestHandler {
	return helmet({
		contentSecurityPolicy: {
			useDefaults: false,
			directives: {
				defaultSrc: ["'self'"],
				// The background effect's model runtime is WebAssembly (served from this origin):
				// compiling it needs 'wasm-unsafe-eval' (it allows no eval() of JavaScript).
				scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
				scriptSrcAttr: ["'none'"],
				styleSrc: ["'self'"],
				// The favicon is a data: URL; image previews of attachments may be blobs.
				imgSrc: ["'self'", 'data:', 'blob:'],
				mediaSrc: ["'self'", 'blob:'],
				fontSrc: ["'self'"],
				// 'self' covers the Socket.IO WebSocket of this origin.
				connectSrc: ["'self'"],
				objectSrc: ["'none'"],
				baseUri: ["'none'"],
				formAction: ["'self'"],
				frameAncestors: ["'none'"],
			},
		},
		frameguard: { action: 'deny' },
		referrerPolicy: { policy: 'no-referrer' },
		// Self-hosted over plain HTTP on a LAN is allowed: no HSTS unless the operator's proxy adds it.
		strictTransportSecurity: false,
	});
}
