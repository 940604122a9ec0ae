/** Serves the built React client, with index.html for client-side routes like /r/<room>. */
import express, { type Request, type Response, type Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';

export function clientRouter(distDir: string, options: { sourceMaps?: boolean } = {}): Router {
	const router = express.Router();
	const index = path.join(distDir, 'index.html');
	// Source maps (the client's sources) only in dev mode.
	if (!options.sourceMaps) {
		router.get(/\.map$/, (_req: Request, res: Response) => {
			res.status(404).type('text/plain').send('Not found\n');
		});
	}
	// Vite names what it builds under assets/ by content hash: a new version has new names, so
	// browsers may keep these for a year without asking. A missing one is a 404, not the app.
	router.use('/assets', express.static(path.join(distDir, 'assets'), { index: false, maxAge: '365d', immutable: true }), (_req: Request, res: Response) => {
		res.status(404).type('text/plain').send('Not found\n');
	});
	router.use(express.static(distDir, { index: false, maxAge: '1h', immutable: false }));
	router.get('/{*splat}', (_req: Request, res: Response) => {
		if (!existsSync(index)) {
			res.status(503).type('text/plain').send('The client is not built yet: run `npm run build` (npm start does it for you).\n');
			return;
		}
		res.setHeader('Cache-Control', 'no-cache');
		res.sendFile(index);
	});
	return router;
}
