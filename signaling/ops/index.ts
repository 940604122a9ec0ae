/**
 * Operating Parley: `/healthz`, `/readyz`, `/metrics` (Prometheus), the admin endpoints
 * behind `npm run admin`, and draining. Operator endpoints answer requests from this
 * machine, or with the configured bearer token (see access.ts).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import type { MessageStore } from '../chat/index.ts';
import { sendError } from '../http/routes.ts';
import { ErrorCode } from '../protocol/index.ts';
import { describeZodError } from '../rpc.ts';
import type { ParleyServer } from '../session.ts';
import { requireOperator } from './access.ts';
import { Drainer } from './Drainer.ts';
import { ParleyMetrics } from './metrics.ts';
import { QualityCache, snapshot } from './snapshot.ts';

export { Drainer, type DrainState } from './Drainer.ts';
export { ParleyMetrics } from './metrics.ts';
export type { AdminRoomsResponse, AdminRoom, AdminPeer, AdminWorker } from './snapshot.ts';

/** Whether the message store answers: `ok`, or why not. */
export type StoreCheck = () => Promise<{ ok: true; engine?: string; latencyMs?: number } | { ok: false; reason: string }>;

export interface OpsOptions {
	config: Config;
	sfu: Sfu;
	io: ParleyServer;
	logger: Logger;
	storeCheck: StoreCheck;
	/** Receive transports prepared in lobbies, waiting for their join (a gauge). */
	prepared?: () => number;
}

export interface Ops {
	router: Router;
	metrics: ParleyMetrics;
	drainer: Drainer;
	/** More admin endpoints (under /admin, behind the same operator check), added by other services. */
	adminRoutes: Router;
	close(): void;
}

const DrainRequestSchema = z.strictObject({
	/** Override the configured grace period (ms). */
	graceMs: z.number().int().min(0).max(24 * 3_600_000).optional(),
});

export function createOps({ config, sfu, io, logger, storeCheck, prepared }: OpsOptions): Ops {
	const log = logger.child({ component: 'ops' });
	const drainer = new Drainer({ sfu, io, logger: log, graceMs: config.ops.drainGraceMs });
	const metrics = new ParleyMetrics({ sfu, io, draining: () => drainer.draining, ...(prepared ? { prepared } : {}) });
	const quality = new QualityCache();
	sfu.on('roomcreated', (room) => quality.watch(room));
	const router = express.Router();

	router.get('/healthz', (_req: Request, res: Response) => {
		res.json({ status: 'ok', workers: sfu.pool.workers.length });
	});

	router.get('/readyz', async (_req: Request, res: Response) => {
		const store = await withTimeout(storeCheck(), 2000).catch((error: unknown) => ({
			ok: false as const,
			reason: error instanceof Error ? error.message : String(error),
		}));
		const workers = sfu.pool.workers.length;
		const checks = {
			workers: { ok: workers > 0, live: workers, configured: config.media.workers },
			store: store.ok ? { ok: true, engine: store.engine, latencyMs: store.latencyMs } : { ok: false, reason: store.reason },
			draining: { ok: !drainer.draining },
		};
		const ready = checks.workers.ok && checks.store.ok && checks.draining.ok;
		res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
	});

	router.get('/metrics', requireOperator(config.ops.metricsToken, '/metrics'), async (_req: Request, res: Response) => {
		res.setHeader('Content-Type', metrics.contentType);
		res.send(await metrics.render());
	});

	const admin = express.Router();
	admin.use(requireOperator(config.ops.adminToken, 'the admin API'));
	admin.get('/rooms', async (_req: Request, res: Response) => {
		res.json(await snapshot(sfu, quality, drainer.state));
	});
	admin.post('/drain', express.json({ limit: '1kb' }), (req: Request, res: Response) => {
		const parsed = DrainRequestSchema.safeParse(req.body ?? {});
		if (!parsed.success) {
			sendError(res, 400, ErrorCode.BadRequest, describeZodError(parsed.error));
			return;
		}
		log.info({ graceMs: parsed.data.graceMs }, 'drain requested by an operator');
		res.json(drainer.start(parsed.data.graceMs));
	});
	admin.post('/workers/:index/restart', (req: Request, res: Response) => {
		const index = Number(req.params.index);
		if (!Number.isInteger(index) || !sfu.pool.restart(index)) {
			sendError(res, 404, ErrorCode.NotFound, `no live worker ${String(req.params.index)}`);
			return;
		}
		log.warn({ worker: index }, 'worker restarted by an operator: its peers move to the other workers');
		res.json({ restarted: index });
	});
	const adminRoutes = express.Router();
	admin.use(adminRoutes);
	admin.use((_req: Request, res: Response) => sendError(res, 404, ErrorCode.NotFound, 'no such admin endpoint'));
	router.use('/admin', admin);

	return {
		router,
		metrics,
		drainer,
		adminRoutes,
		close: () => drainer.close(),
	};
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
		promise.then(
			(v) => {
				clearTimeout(timer);
				resolve(v);
			},
			(e: unknown) => {
				clearTimeout(timer);
				reject(e instanceof Error ? e : new Error(String(e)));
			},
		);
	});
}

/** The message store's own health check (engine, probe latency, why not ok). */
export function messageStoreCheck(messages: MessageStore): StoreCheck {
	return async () => {
		const h = await messages.health();
		return h.ok ? { ok: true, engine: h.engine, latencyMs: h.latencyMs } : { ok: false, reason: h.error ?? `${h.engine} did not answer` };
	};
}
