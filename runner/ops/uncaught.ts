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
import { loggedTaskError } from './task-stack.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

/** How many later errors are logged, one line each, before they are only counted. */
const LATER_ERRORS_LOGGED = 3;

export type Origin = 'uncaughtException' | 'unhandledRejection';

/** Where an uncaught error came from, in words. */
function described(origin: Origin): string {
  return origin === 'unhandledRejection' ? 'a rejected promise that nothing awaited or caught' : 'an error that nothing caught';
}

/** The error's message, whatever was thrown or rejected (`Promise.reject('text')` rejects with no Error). */
function messageOf(error: unknown): string {
  return thrownText(error);
}

/** An uncaught error in words: `a rejected promise that nothing awaited or caught: <its message>`. */
export function describeUncaught(error: unknown, origin: Origin): string {
  return `${described(origin)}: ${messageOf(error)}`;
}

/** An uncaught error as it is logged: its stack as a task failure's, ending at the worker's last frame, unless at debug. */
export function loggedUncaught(thrown: unknown, logger: Logger): unknown {
  return thrown instanceof Error ? loggedTaskError(thrown, logger.isLevelEnabled('debug')) : thrown;
}

/**
 * Stops the worker cleanly on the first uncaught error, then exits 1: `stopForError` is the stop
 * onShutdownSignal returned (shutdown.ts), the one a signal runs, which also says a second in what it
 * waits for and ends with exit 1 when a signal's stop was already under way.
 */
export function stopOnUncaughtError(logger: Logger, stopForError: () => boolean): void {
  let said = false;
  let later = 0;
  const handle = (thrown: unknown, origin: Origin): void => {
    stopForError();
    const error = loggedUncaught(thrown, logger);
    if (said) {
      later++;
      if (later <= LATER_ERRORS_LOGGED) logger.error({ err: error, origin }, `while stopping, ${describeUncaught(error, origin)}`);
      if (later === LATER_ERRORS_LOGGED) logger.error(`more errors that nothing caught are not logged; the stop goes on (a second SIGTERM or Ctrl-C ends it now)`);
      return;
    }
    said = true;
    logger.error(
      { err: error, origin },
      `${describeUncaught(error, origin)}; stopping cleanly (the messages the broker holds are kept, those of running tasks requeued), then exit 1`,
    );
  };
  // A listener of its own: Node then hands over the rejection's reason itself, not the error it wraps
  // a non-Error reason in ("This error originated either by throwing inside of an async function…").
  process.on('unhandledRejection', (reason) => handle(reason, 'unhandledRejection'));
  process.on('uncaughtException', (error) => handle(error, 'uncaughtException'));
}
