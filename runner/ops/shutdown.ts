/**
 * Signal handling shared by every long-running command: the first SIGTERM or SIGINT runs the
 * graceful stop once; a second one exits at once. Exit codes: 0 after a clean stop, 1 if it failed,
 * 130 when a second signal cut it short.
 */
import type { Logger } from 'pino';

export interface ShutdownHooks {
  /**
   * Runs, synchronously, before a second signal exits the process: what must not be lost even then
   * (the embedded broker's messages) is saved here. Tasks still running are abandoned; their
   * messages are in flight, so they are saved and delivered again.
   */
  beforeForcedExit?: () => void;
}

export function onShutdownSignal(logger: Logger, stop: () => Promise<void>, hooks: ShutdownHooks = {}): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      try {
        hooks.beforeForcedExit?.();
      } catch (error) {
        logger.error({ err: error }, 'could not save state before exiting');
      }
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
