/** The process logger: pino, JSON lines on stdout for journald and log shippers. */
import pino, { type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export function createLogger(level: LogLevel = 'info', name = 'nsqworker'): Logger {
  return pino({ name, level });
}
