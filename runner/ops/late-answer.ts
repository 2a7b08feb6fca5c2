/**
 * nsqd's refusal of a FIN or REQ for a message it no longer has in flight (`E_FIN_FAILED`,
 * `E_REQ_FAILED`: "ID not in flight", `nsqd/channel.go`). For a worker that almost always means the
 * task ran past the message timeout: nsqd took the message back and delivered it again, so the
 * task may run twice. The log says so, where a bare "consumer error" read like a broker fault.
 */
import type { Logger } from 'pino';

/** An error's string `code`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The codes of nsqd's answers to a late FIN or REQ. */
export const LATE_ANSWER_CODES: ReadonlySet<string> = new Set(['E_FIN_FAILED', 'E_REQ_FAILED']);

/** Logs a consumer's error: a late answer as a warning that says what happened, the rest as errors (one line, no stack). */
export function logConsumerError(log: Logger, error: Error): void {
  const code = errorCode(error);
  if (code !== undefined && LATE_ANSWER_CODES.has(code)) {
    log.warn(
      { code },
      `${error.message}: the task answered after the message timeout (nsqd's --msg-timeout), so nsqd had taken the message back and delivers it again; call context.touch() in a long task to keep its message`,
    );
    return;
  }
  // One line, no stack: an unreachable nsqd is an expected state (the reconnects say so each time).
  log.error({ code }, `consumer error: ${error.message}`);
}
