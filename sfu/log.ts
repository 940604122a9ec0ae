/** Logging helpers shared by the SFU's classes. */
import type { Logger } from 'pino';

/** A failed call on a media object that closed meanwhile is expected; any other failure is logged. */
export function logUnlessClosed(log: Logger, object: { id: string; closed: boolean }, err: unknown, message: string): void {
	if (object.closed) log.debug({ id: object.id, err }, `${message} (closed meanwhile)`);
	else log.warn({ id: object.id, err }, message);
}
