/**
 * What the process does with a failure nobody caught.
 *
 * - A promise rejection nobody handled is a bug, but it belongs to one request or one
 *   meeting: Node's default (the process exits) would end every meeting on the server for
 *   it, and make any such path a way for one participant to take the server down. It is
 *   logged as an error, with its stack, and counted (`parley_unhandled_rejections_total`
 *   in `/metrics`); the server goes on.
 * - An uncaught exception still ends the process: the state of whatever threw is unknown.
 *   It is logged (fatal, structured) first, then the process exits with status 1.
 */
import type { Logger } from 'pino';

export function guardProcess(logger: Logger, onRejection?: () => void): void {
	const rejected = (reason: unknown): void => {
		onRejection?.();
		logger.error({ err: reason }, 'unhandled promise rejection (a bug): logged, the server goes on');
	};
	const uncaught = (error: Error, origin: string): void => {
		logger.fatal({ err: error, origin }, 'uncaught exception: exiting');
		logger.flush();
		process.exit(1);
	};
	process.on('unhandledRejection', rejected);
	process.on('uncaughtException', uncaught);
}
