/**
 * nsqd's refusal of a FIN or REQ for a message it no longer has in flight (`E_FIN_FAILED`,
 * `E_REQ_FAILED`: "ID not in flight", `nsqd/channel.go`). For a worker that almost always means the
 * message's timeout passed first: a task ran past it, or a copy waited past it (a redelivered copy
 * the dedup queue finishes, one held behind a running task); nsqd took the message back and delivers
 * it again, so a task may run twice. The log says so, where a bare "consumer error" read like a broker fault.
 */
import type { Logger } from 'pino';
import { refusalHint } from './refusal-hints.ts';
import { DeadLetterRefused } from './task-outcome-log.ts';

/** An error's string `code`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The codes of nsqd's answers to a late FIN or REQ. */
export const LATE_ANSWER_CODES: ReadonlySet<string> = new Set(['E_FIN_FAILED', 'E_REQ_FAILED']);

/** Logs a consumer's error: a late answer as a warning that says what happened, the rest as errors (one line, no stack). */
export function logConsumerError(log: Logger, error: Error): void {
  // A refused dead letter: its give-up line said so, and that the message is requeued.
  if (error instanceof DeadLetterRefused) return;
  const code = errorCode(error);
  if (code !== undefined && LATE_ANSWER_CODES.has(code)) {
    log.warn(
      { code },
      `${error.message}: the message's timeout at nsqd (--msg-timeout) passed before this answer, so nsqd had taken it back and delivers it again; a long task keeps its message with context.touch()`,
    );
    return;
  }
  // One line, no stack: an unreachable nsqd is an expected state (the reconnects say so each time).
  log.error({ code }, `consumer error: ${error.message}${refusalHint(error)}`);
}
