/**
 * Webhooks: the events of rooms, participants, tracks and hands, signed and delivered
 * at least once from a durable queue (SQLite in the data folder, or Redis when configured).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { Sfu } from '../../sfu/index.ts';
import type { MeetingRegistry } from '../meeting/MeetingRegistry.ts';
import type { RecordingInfo } from '../protocol/index.ts';
import type { RecordingService } from '../recording/RecordingService.ts';
import { RedisWebhookQueue } from './RedisWebhookQueue.ts';
import { SqliteWebhookQueue } from './SqliteWebhookQueue.ts';
import { WebhookDispatcher } from './WebhookDispatcher.ts';
import { WebhookEventType, type WebhookQueue } from './types.ts';

export * from './types.ts';
export * from './signature.ts';
export { WebhookDispatcher, type WebhookStats } from './WebhookDispatcher.ts';
export { SqliteWebhookQueue } from './SqliteWebhookQueue.ts';
export { RedisWebhookQueue } from './RedisWebhookQueue.ts';

export const WEBHOOK_SQLITE_FILE_NAME = 'webhooks.sqlite';

export function createWebhookQueue(config: Pick<Config, 'data' | 'redis'>, logger?: Logger): WebhookQueue {
	if (config.redis.url) return new RedisWebhookQueue({ url: config.redis.url, ...(logger ? { logger } : {}) });
	fs.mkdirSync(config.data.dir, { recursive: true });
	return new SqliteWebhookQueue(path.join(config.data.dir, WEBHOOK_SQLITE_FILE_NAME));
}

/** The dispatcher for the configured URLs, or null when webhooks are off. */
export function createWebhooks(config: Config, logger: Logger): WebhookDispatcher | null {
	const { urls, secret } = config.webhooks;
	if (urls.length === 0 || !secret) return null;
	const log = logger.child({ component: 'webhooks' });
	return new WebhookDispatcher({
		queue: createWebhookQueue(config, log),
		urls,
		secret,
		initialBackoffMs: config.webhooks.initialBackoffMs,
		maxBackoffMs: config.webhooks.maxBackoffMs,
		retryForMs: config.webhooks.retryForSeconds * 1000,
		timeoutMs: config.webhooks.timeoutMs,
		logger: log,
	});
}

/** Turn room, meeting and media events into webhook events. */
export function bindWebhookEvents(webhooks: WebhookDispatcher, sfu: Sfu, meetings: MeetingRegistry, logger: Logger): void {
	const publish = (event: Parameters<WebhookDispatcher['publish']>[0]): void => {
		webhooks.publish(event).catch((error: unknown) => logger.error({ err: error, event: event.event }, 'webhook event not queued'));
	};
	meetings.on('created', (meeting) => {
		const room = { name: meeting.id };
		publish({ event: WebhookEventType.RoomStarted, room });
		meeting.on('memberjoined', (identity, name) =>
			publish({ event: WebhookEventType.ParticipantJoined, room, participant: { identity, name } }),
		);
		meeting.on('memberleft', (identity, name) =>
			publish({ event: WebhookEventType.ParticipantLeft, room, participant: { identity, name } }),
		);
		meeting.on('handraised', (hand) =>
			publish({ event: WebhookEventType.HandRaised, room, participant: { identity: hand.identity, name: hand.name } }),
		);
	});
	meetings.on('closed', (meeting) => publish({ event: WebhookEventType.RoomFinished, room: { name: meeting.id } }));
	sfu.on('roomcreated', (sfuRoom) => {
		const room = { name: sfuRoom.id };
		const describe = (p: { id: string; kind: 'audio' | 'video'; appData: { peerId: string; source: string } }) => {
			const peer = sfuRoom.peers.get(p.appData.peerId);
			return {
				room,
				participant: { identity: p.appData.peerId, name: peer?.name ?? p.appData.peerId },
				track: { id: p.id, kind: p.kind, source: p.appData.source },
			};
		};
		sfuRoom.on('newproducer', (p) => publish({ event: WebhookEventType.TrackPublished, ...describe(p) }));
		sfuRoom.on('producerclose', (p) => publish({ event: WebhookEventType.TrackUnpublished, ...describe(p) }));
	});
}

/** Recordings started, and finished (every file written): what a backend needs to fetch them. */
export function bindRecordingWebhooks(webhooks: WebhookDispatcher, recordings: RecordingService, logger: Logger): void {
	const publish = (event: Parameters<WebhookDispatcher['publish']>[0]): void => {
		webhooks.publish(event).catch((error: unknown) => logger.error({ err: error, event: event.event }, 'webhook event not queued'));
	};
	const describe = (info: RecordingInfo): NonNullable<Parameters<WebhookDispatcher['publish']>[0]['recording']> => ({
		id: info.id,
		startedAt: info.startedAt,
		endedAt: info.endedAt,
		stopReason: info.stopReason,
		bytes: info.bytes,
		files: info.files.map((f) => ({ file: f.file, identity: f.peerId, source: f.source, kind: f.kind, startedAt: f.startedAt, endedAt: f.endedAt, bytes: f.bytes })),
	});
	recordings.on('change', (room, state) => {
		if (state.active && state.id && state.startedAt !== null) {
			publish({
				event: WebhookEventType.RecordingStarted,
				room: { name: room },
				recording: { id: state.id, startedAt: state.startedAt, endedAt: null, stopReason: null, bytes: 0, files: [] },
			});
		}
	});
	recordings.on('ready', (info) => publish({ event: WebhookEventType.RecordingFinished, room: { name: info.room }, recording: describe(info) }));
}
