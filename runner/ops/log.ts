/**
 * The process logger: pino, JSON lines on stdout for journald and log shippers, and pretty lines
 * when stdout is a terminal (or NSQWORKER_LOG_FORMAT=pretty). The prettifier runs in-process, so
 * log lines are written before the process exits.
 *
 * JSON lines are written synchronously, each as it is logged, as nsqd's logger does: nothing is
 * left to flush at exit. pino's default asynchronous destination flushes what it holds at exit with
 * sonic-boom's flushSync, which retries a failed write every 100 ms whatever the error: with the
 * log's reader gone (EPIPE), a process stopped by SIGTERM never exited. A synchronous write's EPIPE
 * instead turns the destination off (pino's buildSafeSonicBoom), and the process stops as asked.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

// pino-pretty is loaded only when a terminal asks for pretty lines: a service logging JSON never
// pays for it. It is CommonJS, so a synchronous require keeps createLogger synchronous.
const requireHere = createRequire(import.meta.url);
type PrettyFactory = (options: PrettyOptions) => NodeJS.WritableStream;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type LogFormat = 'json' | 'pretty';

function chooseFormat(): LogFormat {
  const wanted = process.env.NSQWORKER_LOG_FORMAT;
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  return process.stdout.isTTY ? 'pretty' : 'json';
}

/** Loads what {@link createLogger} will need for this process's output, so that it costs nothing later. */
export function preloadLogFormat(format: LogFormat = chooseFormat()): void {
  if (format === 'pretty') requireHere('pino-pretty');
}

export function createLogger(level: LogLevel = 'info', name = 'nsqworker', format: LogFormat = chooseFormat()): Logger {
  if (format === 'pretty') {
    const pretty = requireHere('pino-pretty') as PrettyFactory;
    return pino({ name, level }, pretty({ colorize: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ name, level }, pino.destination({ dest: 1, sync: true }));
}
