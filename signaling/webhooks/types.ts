/**
 * Webhook events and deliveries. One event (with its id) gives one delivery per
 * configured URL; a delivery stays queued until the URL answers 2xx (at-least-once:
 * receivers dedupe by the event id, which is the same on every retry).
 */
export const WebhookEventType = {
	RoomStarted: 'room_started',
	RoomFinished: 'room_finished',
	ParticipantJoined: 'participant_joined',
	ParticipantLeft: 'participant_left',
	TrackPublished: 'track_published',
	TrackUnpublished: 'track_unpublished',
	HandRaised: 'hand_raised',
	RecordingStarted: 'recording_started',
	/** A recording stopped and every file of it is finished (ready to download). */
	RecordingFinished: 'recording_finished',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

/** The JSON body POSTed to receivers. */
export interface WebhookEvent {
	/** Unique per event; the same on every retry of it. */
	id: string;
	event: WebhookEventType;
	/** When it happened (ms since the epoch). */
	createdAt: number;
	room: { name: string };
	participant?: { identity: string; name: string };
	track?: { id: string; kind: 'audio' | 'video'; source: string };
	recording?: {
		id: string;
		startedAt: number;
		endedAt: number | null;
		stopReason: string | null;
		bytes: number;
		files: { file: string; identity: string; source: string; kind: 'audio' | 'video'; startedAt: number; endedAt: number; bytes: number }[];
	};
}

export interface Delivery {
	/** `<event id>:<url index>`. */
	id: string;
	url: string;
	/** The exact body (signed as is). */
	body: string;
	createdAt: number;
	/** When to try next (ms since the epoch). */
	dueAt: number;
	attempts: number;
}

/** The durable queue of deliveries: SQLite (embedded default) or Redis. */
export interface WebhookQueue {
	/** Store deliveries (idempotent by id). */
	add(deliveries: Delivery[]): Promise<void>;
	/** Up to `limit` deliveries due at `now`, oldest due first. */
	due(now: number, limit: number): Promise<Delivery[]>;
	/** Delivered (2xx) or given up: forget it. */
	remove(id: string): Promise<void>;
	/** Failed: try again at `dueAt`. */
	retryAt(id: string, dueAt: number, attempts: number): Promise<void>;
	size(): Promise<number>;
	close(): Promise<void>;
}
