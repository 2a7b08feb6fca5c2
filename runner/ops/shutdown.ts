/**
 * Signal handling shared by every long-running command: the first SIGTERM or SIGINT runs the
 * graceful stop once; a second one exits at once. Exit codes: 0 after a clean stop, 1 if it failed
 * (or an error nothing caught came meanwhile: the stop {@link onShutdownSignal} returns),
 * 130 when a second signal cut it short. A signal that comes while the command starts waits for
 * the start ({@link startHoldingSignals}). Started by npm (`npx nsqworker`), the end of npm is a
 * SIGTERM too ({@link whenNpmGone}).
 */
import type { Logger } from 'pino';
import { formatDurationMs } from '../../protocol/duration.ts';

export interface ShutdownHooks {
  /**
   * Runs, synchronously, before a second signal exits the process: what must not be lost even then
   * (the embedded broker's messages) is saved here. Tasks still running are abandoned; their
   * messages are in flight, so they are saved and delivered again.
   */
  beforeForcedExit?: () => void;
  /**
   * What the stop still waits for, a second after it began (`2 messages its tasks are handling (send: 2) to finish, up to 30s after the stop began`),
   * or undefined when nothing: said once, so that a stop that seems to hang says why and how to cut
   * it short.
   */
  stillRunning?: () => string | undefined;
}

/** How long a stop goes before it says what it waits for. */
const STILL_RUNNING_NOTE_MS = 1000;

/**
 * `tasks` (each task's messages its code is handling) for {@link ShutdownHooks.stillRunning}, or
 * undefined when none is: `2 messages its tasks are handling (send: 1, audit: 1) to finish, up to 30s after the stop began`.
 * Undefined too when the stop's `timeoutMs` ends before the note is due: by then those messages are
 * being requeued, and a line saying the stop waits for them would come after the one saying so.
 */
export function describeRunningTasks(tasks: Record<string, number>, timeoutMs: number): string | undefined {
  const entries = Object.entries(tasks);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0 || timeoutMs <= STILL_RUNNING_NOTE_MS) return undefined;
  const counts = entries.map(([task, count]) => `${task}: ${count}`).join(', ');
  return `${total} message${total === 1 ? '' : 's'} its tasks are handling (${counts}) to finish, up to ${formatDurationMs(timeoutMs)} after the stop began`;
}

/**
 * Runs `stop` on the first SIGTERM or SIGINT; a second one exits at once. Returns the stop for an
 * error nothing caught (uncaught.ts): it begins the same stop, unless one is under way, and makes it
 * end with exit 1 however it began; true when it began it. After such a stop began, the first
 * signal is the one that exits at once.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>, hooks: ShutdownHooks = {}): () => boolean {
  let stopping = false;
  let status = 0;
  /** Runs the stop; a second in, says what it still waits for (`lead`) and what cuts it short (`again`). */
  const begin = (lead: string, again: string): void => {
    stopping = true;
    const { stillRunning } = hooks;
    if (stillRunning !== undefined) {
      // Unref'd: the stop's own end exits the process; the note never holds it.
      setTimeout(() => {
        const waitingFor = stillRunning();
        if (waitingFor !== undefined) logger.info(`${lead} ${waitingFor}; ${again} stops now, and they are delivered again`);
      }, STILL_RUNNING_NOTE_MS).unref();
    }
    stop().then(
      () => process.exit(status),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
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
    logger.info({ signal }, 'shutting down');
    // Said in the terms of the signal that came: a terminal's user presses Ctrl-C again, a supervisor sends SIGTERM.
    begin('shutdown waits for', signal === 'SIGINT' ? 'a second Ctrl-C' : `a second ${signal} (or Ctrl-C)`);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  whenNpmGone(() => {
    // A stop under way (its own signal came first: a supervisor that signals the whole group) goes on.
    if (stopping) return;
    logger.info('npm, which started this process, has exited: stopping as on SIGTERM');
    handle('SIGTERM');
  });
  return () => {
    status = 1;
    if (stopping) return false;
    begin('the stop waits for', 'a SIGTERM or Ctrl-C');
    return true;
  };
}

/** How often a process started by npm looks whether npm is still its parent. */
const NPM_CHECK_MS = 1000;

/**
 * Calls `gone` once when this process was started by npm (`npx`, `npm exec`: npm sets npm_command)
 * and npm has exited, this process left to another parent. npx passes no SIGTERM on to the command it
 * started and exits: a supervisor's stop, or `timeout`, ended npx and left nsqworker running, holding
 * its ports. Node has no event for a parent's end: the parent's pid is looked at every second, on an
 * unref'd timer.
 */
export function whenNpmGone(gone: () => void): void {
  if (process.env.npm_command === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone();
  }, NPM_CHECK_MS).unref();
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs `start` with SIGTERM and SIGINT held: the first that comes meanwhile waits for the start (and
 * aborts the AbortSignal `start` is given, for a wait that may never end on its own), a second
 * exits at once (130). Once `start` resolves to a value, `started(value)` installs the
 * command's own handlers and a held signal is sent again, to them; resolved to undefined (nothing
 * left running), a held signal is dropped. Rejections of `start` pass through.
 *
 * The command's handlers are installed before the holding ones go, in the same turn of the event
 * loop: Node closes a signal's handle with its last listener, and a signal that handle had caught
 * but not yet delivered (one that came in that turn) was lost with it. Seen: a SIGTERM during
 * start-up ignored, the worker running on.
 */
export async function startHoldingSignals<T>(start: (held: AbortSignal) => Promise<T | undefined>, started: (value: T) => void): Promise<T | undefined> {
  let held: NodeJS.Signals | undefined;
  const holding = new AbortController();
  const hold = (signal: NodeJS.Signals): void => {
    if (held !== undefined) process.exit(130);
    held = signal;
    holding.abort();
  };
  for (const signal of SIGNALS) process.on(signal, hold);
  let value: T | undefined;
  try {
    value = await start(holding.signal);
    if (value !== undefined) started(value);
  } finally {
    for (const signal of SIGNALS) process.off(signal, hold);
  }
  if (value !== undefined && held !== undefined) process.kill(process.pid, held);
  return value;
}
