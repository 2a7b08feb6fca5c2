/**
 * An error nothing catches in a worker process: a throw from a timer or event handler of the
 * worker's code, or a rejected promise nothing awaits or catches (`Promise.reject(...)` without
 * `await` or `.catch`, which Node since v15 treats the same). Node's default prints a raw stack on
 * stderr and exits 1 there and then, which takes the embedded broker down without writing what it
 * holds: messages it had accepted, of every topic and channel, were lost.
 *
 * Here it is one error line, then the same clean stop as a SIGTERM (tasks drain up to
 * --shutdown-timeout, their messages requeued; the embedded broker's state written), then exit 1,
 * for systemd or supervisord to restart the worker. Node's documentation of 'uncaughtException'
 * advises against going on as if nothing happened: the process may be in a state its code did not
 * plan for. A second one while stopping exits at once, after writing the broker's state, as a
 * second signal does. Under `--watch` and `dev` the child that runs the code is replaced instead
 * (runner/reload/), so this is for a plain run.
 */
import type { Logger } from 'pino';

/** Where an uncaught error came from, in words: Node's `origin` of 'uncaughtException'. */
function described(origin: NodeJS.UncaughtExceptionOrigin): string {
  return origin === 'unhandledRejection' ? 'a rejected promise that nothing awaited or caught' : 'an error that nothing caught';
}

/** The error's message, whatever was thrown (`Promise.reject('text')` throws no Error). */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Stops the worker cleanly on the first uncaught error, then exits 1. `stop` is the worker's stop
 * (the one a signal runs; called again it returns the same promise); `beforeForcedExit` saves the
 * embedded broker's state synchronously, for a second error that exits at once.
 */
export function stopOnUncaughtError(logger: Logger, stop: () => Promise<void>, beforeForcedExit: () => void): void {
  let stopping = false;
  process.on('uncaughtException', (error: unknown, origin) => {
    if (stopping) {
      logger.error({ err: error, origin }, `${described(origin)} while stopping: ${messageOf(error)}; exiting now`);
      try {
        beforeForcedExit();
      } catch (saveError) {
        logger.error({ err: saveError }, 'could not save state before exiting');
      }
      process.exit(1);
    }
    stopping = true;
    logger.error(
      { err: error, origin },
      `${described(origin)} in the worker's code: ${messageOf(error)}; stopping cleanly (the messages the broker holds are kept, those of running tasks requeued), then exit 1`,
    );
    stop().then(
      () => process.exit(1),
      () => process.exit(1),
    );
  });
}
