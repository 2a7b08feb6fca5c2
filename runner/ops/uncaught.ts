/**
 * An error nothing catches in a worker process: a throw from a timer or event handler of the
 * worker's code, or a rejected promise nothing awaits or catches (`Promise.reject(...)` without
 * `await` or `.catch`, which Node since v15 treats the same). Node's default prints a raw stack on
 * stderr and exits 1 there and then, which takes the embedded broker down without writing what it
 * holds: messages it had accepted, of every topic and channel, were lost.
 *
 * Here it is one error line, then the same clean stop as a SIGTERM (tasks drain up to
 * --shutdown-timeout, their messages requeued; the embedded broker's state written), then exit 1,
 * for systemd or supervisord to restart the worker; exit 1 too when the error comes during a stop a
 * signal began. Node's documentation of 'uncaughtException' advises against going on as if nothing
 * happened: the process may be in a state its code did not plan for. Later errors (a timer that
 * throws each time it fires) are logged, a few, and do not cut the drain short: a signal does, as a
 * second signal does after a signal's stop. Under `--watch` and `dev` the child that runs the code is replaced instead (runner/reload/),
 * so this is for a plain run. Every uncaught error of the process comes here, the package's own too:
 * the line names where Node says it came from, not whose code it was.
 */
import type { Logger } from 'pino';
import { beginStopWithoutSignal, failTheStop } from './shutdown.ts';

/** How long the stop goes before it says what it waits for, as a signal's does. */
const STILL_RUNNING_NOTE_MS = 1000;

/** How many later errors are logged, one line each, before they are only counted. */
const LATER_ERRORS_LOGGED = 3;

export type Origin = 'uncaughtException' | 'unhandledRejection';

/** Where an uncaught error came from, in words. */
function described(origin: Origin): string {
  return origin === 'unhandledRejection' ? 'a rejected promise that nothing awaited or caught' : 'an error that nothing caught';
}

/** The error's message, whatever was thrown or rejected (`Promise.reject('text')` rejects with no Error). */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An uncaught error in words: `a rejected promise that nothing awaited or caught: <its message>`. */
export function describeUncaught(error: unknown, origin: Origin): string {
  return `${described(origin)}: ${messageOf(error)}`;
}

/**
 * Stops the worker cleanly on the first uncaught error, then exits 1. `stop` is the worker's stop
 * (the one a signal runs; called again it returns the same promise); `stillRunning` what it waits
 * for (shutdown.ts ShutdownHooks), said a second in, with the signal that cuts it short.
 */
export function stopOnUncaughtError(logger: Logger, stop: () => Promise<void>, stillRunning: () => string | undefined): void {
  let stopping = false;
  let later = 0;
  const handle = (error: unknown, origin: Origin): void => {
    failTheStop();
    if (stopping) {
      later++;
      if (later <= LATER_ERRORS_LOGGED) logger.error({ err: error, origin }, `while stopping, ${describeUncaught(error, origin)}`);
      if (later === LATER_ERRORS_LOGGED) logger.error(`more errors that nothing caught are not logged; the stop goes on (a second SIGTERM or Ctrl-C ends it now)`);
      return;
    }
    stopping = true;
    beginStopWithoutSignal();
    setTimeout(() => {
      const waitingFor = stillRunning();
      if (waitingFor !== undefined) logger.info(`the stop waits for ${waitingFor}; a SIGTERM or Ctrl-C stops now, and they are delivered again`);
    }, STILL_RUNNING_NOTE_MS).unref();
    logger.error(
      { err: error, origin },
      `${describeUncaught(error, origin)}; stopping cleanly (the messages the broker holds are kept, those of running tasks requeued), then exit 1`,
    );
    stop().then(
      () => process.exit(1),
      () => process.exit(1),
    );
  };
  // A listener of its own: Node then hands over the rejection's reason itself, not the error it wraps
  // a non-Error reason in ("This error originated either by throwing inside of an async function…").
  process.on('unhandledRejection', (reason) => handle(reason, 'unhandledRejection'));
  process.on('uncaughtException', (error) => handle(error, 'uncaughtException'));
}
