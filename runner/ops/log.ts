/**
 * The process logger: pino, JSON lines on stdout for journald and log shippers, and pretty lines
 * when stdout is a terminal (or NSQWORKER_LOG_FORMAT=pretty). The prettifier runs in-process, so
 * log lines are written before the process exits.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type LogFormat = 'json' | 'pretty';

function chooseFormat(): LogFormat {
  const wanted = process.env.NSQWORKER_LOG_FORMAT;
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  return process.stdout.isTTY ? 'pretty' : 'json';
}

export function createLogger(level: LogLevel = 'info', name = 'nsqworker', format: LogFormat = chooseFormat()): Logger {
  if (format === 'pretty') {
    return pino({ name, level }, pretty({ colorize: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ name, level });
}
