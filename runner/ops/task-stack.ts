/**
 * A task's failure as it is logged: its stack without the frames of nsqworker's own code below the
 * task's. Under every task's frames come the same ten of the runner and the client (runTask,
 * HandlerRunner, Consumer…), which push the user's frames out of view and say nothing of the fault.
 * `--log-level debug` logs the whole stack.
 */
import { fileURLToPath } from 'node:url';
import { isOwnCode } from '../worker/own-files.ts';

/** `    at fn (/path/file.js:1:2)` or `    at /path/file.js:1:2`: the file of a V8 stack frame. */
const FRAME = /^\s+at (?:.*? \()?((?:file:\/\/)?\/[^:)]+|node:[^:)]+)(?::\d+){0,2}\)?$/;

function frameFile(line: string): string | undefined {
  const file = FRAME.exec(line)?.[1];
  if (file === undefined) return undefined;
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

/**
 * The stack cut after its last frame that is neither this package's code nor Node's own
 * (`node:internal/…`): what follows it is how the runner called the task. A stack with no such
 * frame (an error of the client's, raised on a socket event) is kept whole.
 * `isOurs`: whether a frame's file is this package's running code (tests give their own).
 */
export function taskStack(stack: string, isOurs: (file: string) => boolean = isOwnCode): string {
  const lines = stack.split('\n');
  let lastTheirs = -1;
  lines.forEach((line, index) => {
    const file = frameFile(line);
    if (file !== undefined && !file.startsWith('node:') && !isOurs(file)) lastTheirs = index;
  });
  return lastTheirs < 0 ? stack : lines.slice(0, lastTheirs + 1).join('\n');
}

/**
 * `error` to log for a task's failure: a copy whose stack, and its cause's, are {@link taskStack}'s (the error itself,
 * which the dead letter and the metrics see, is not changed), or `error` as it is when `full` or
 * nothing is cut. The copy keeps the class, code, cause and own properties pino's serializer shows.
 */
export function loggedTaskError<E extends Error | undefined>(error: E, full: boolean, depth = 0): E {
  if (error === undefined || full || typeof error.stack !== 'string') return error;
  const stack = taskStack(error.stack);
  // pino writes a cause's stack after the error's ("caused by: …"): cut the same way.
  // A few levels only: a cause may lead back to the error itself.
  const cause = error.cause instanceof Error && depth < 4 ? loggedTaskError(error.cause, full, depth + 1) : error.cause;
  if (stack === error.stack && cause === error.cause) return error;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  Object.defineProperties(copy, {
    message: { value: error.message, writable: true, configurable: true },
    stack: { value: stack, writable: true, configurable: true },
    ...(error.cause === undefined ? {} : { cause: { value: cause, writable: true, configurable: true } }),
  });
  return copy as E;
}
