/**
 * The process logger: pino, JSON lines on stdout for journald and log shippers, and pretty lines
 * when stdout is a terminal (or NSQWORKER_LOG_FORMAT=pretty). The prettifier runs in-process, so
 * log lines are written before the process exits. JSON lines go through log-destination.ts, which
 * neither blocks on a reader that falls behind nor holds the process at exit when the reader has gone.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { LogDestination } from './log-destination.ts';
import { childWithFields, logFieldsMixin, mergeLineIntoFields } from '../worker/log-fields.ts';
import { serializeError } from './log-error.ts';

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

/**
 * The process's logger, named `name` (the `name` key of each line). The name is a field of the
 * task logger's kind (runner/worker/log-fields.ts), not pino's `name` option: a line that gives a
 * `name` of its own (a signup's, a product's) has the key once, with its value, where pino wrote
 * it twice.
 */
export function createLogger(level: LogLevel = 'info', name = 'nsqworker', format: LogFormat = chooseFormat()): Logger {
  if (format === 'pretty') {
    const pretty = requireHere('pino-pretty') as PrettyFactory;
    return childWithFields(pino(loggerOptions(level), pretty({ colorize: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })), { name });
  }
  stdoutDestination ??= new LogDestination(1);
  return childWithFields(pino(loggerOptions(level), stdoutDestination), { name });
}

/**
 * The options {@link createLogger} gives pino, whatever the output: the task logger's fields
 * (runner/worker/log-fields.ts) and errors written with each cause's message once (log-error.ts).
 */
export function loggerOptions(level: LogLevel): pino.LoggerOptions {
  return { level, mixin: logFieldsMixin, mixinMergeStrategy: mergeLineIntoFields, serializers: { err: serializeError } };
}

/** One for the process: every logger made writes through it, in order. */
let stdoutDestination: LogDestination | undefined;
