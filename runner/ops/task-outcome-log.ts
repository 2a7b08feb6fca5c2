/**
 * The lines a worker logs when a task's message is requeued or given up. A task's own
 * RequeueMessage or GiveUpMessage is its decision: one line with its delay or reason, no stack. A
 * throw, or running out of attempts, is a failure, logged with its stack down to the task's frames
 * (task-stack.ts).
 */
import type { Logger } from 'pino';
import type { Message } from '../../client/message.ts';
import { asRequeueMessage, isGiveUpMessage } from '../../client/errors.ts';
import { formatDurationMs } from '../../protocol/duration.ts';
import { NotStartedAtShutdown } from './executor.ts';
import { loggedTaskError } from './task-stack.ts';
import { COMMONJS_IN_MODULE_FIX, isCommonJsInModule } from '../worker/commonjs-in-module.ts';

/** A task's failure as logged: its error, cut to the task's frames, and the fix where Node's words lack it. */
function failure(error: Error | undefined, log: Logger): { err: Error | undefined; hint?: string } {
  const err = loggedTaskError(error, log.isLevelEnabled('debug'));
  // `require` in a task of an ES module worker fails each message as it would the file's load (which says why).
  return isCommonJsInModule(error) ? { err, hint: COMMONJS_IN_MODULE_FIX } : { err };
}

/** `closing`: the worker is shutting down, when a requeue is no failure of the task. */
export function logRequeue(log: Logger, message: Message, delayMs: number, error: Error | undefined, closing: boolean): void {
  const where = { messageId: message.id, attempts: message.attempts };
  // No failure while shutting down. Requeued at close: messages delivered but not yet handled (up to
  // maxInFlight of them), and those of tasks cut off at --shutdown-timeout (logCutOff says those), one
  // line each at debug; a message held back at a reload's swap is said as such.
  if (closing && error === undefined) log.debug(where, 'shutting down: message requeued unanswered');
  else if (closing && error instanceof NotStartedAtShutdown) log.warn(where, 'shutting down: message requeued before its task started');
  // The delay in the line itself: the default (--requeue-delay 90s × attempts) would otherwise look
  // like a lost message. The REQ's delay, the earliest redelivery: a backoff may hold it longer.
  else if (asRequeueMessage(error) !== undefined) log.info({ ...where, delayMs }, `message requeued as the task asked, with a ${formatDurationMs(delayMs)} delay`);
  else log.warn({ ...where, delayMs, ...failure(error, log) }, `task failed: message requeued with a ${formatDurationMs(delayMs)} delay`);
}

/**
 * Gives up on a message: `send` dead-letters it (or drops it), then the line says where it went. A
 * dead letter nsqd refuses (E_UNAUTHORIZED: the AUTH secret may not publish there) is said as such
 * and thrown: the consumer then requeues the message, which is not lost.
 */
export async function giveUp(log: Logger, message: Message, error: Error | undefined, fate: string, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (refused) {
    log.error(
      { messageId: message.id, attempts: message.attempts, ...failure(error, log), deadLetterError: (refused as Error).message },
      `giving up on message, but it could not be ${fate}: ${(refused as Error).message}; it is requeued`,
    );
    throw refused;
  }
  logGiveUp(log, message, error, fate);
}

/** `fate`: where the message goes (`dead-lettered to topic t.dead_letter`, or dropped). */
export function logGiveUp(log: Logger, message: Message, error: Error | undefined, fate: string): void {
  const where = { messageId: message.id, attempts: message.attempts };
  if (isGiveUpMessage(error)) log.warn({ ...where, reason: error!.message }, `the task gave up on the message: ${fate}`);
  else log.error({ ...where, ...failure(error, log) }, `giving up on message: ${fate}`);
}

/**
 * After a stop: tasks still running when the consumers closed (`running`, one count per consumer)
 * were cut off at --shutdown-timeout, their messages requeued: said once, as they may run twice.
 */
export function logCutOff(log: Logger, running: readonly number[]): void {
  const cutOff = running.reduce((sum, count) => sum + count, 0);
  if (cutOff > 0) log.warn({ cutOff }, `shutting down: ${cutOff} ${cutOff === 1 ? 'task' : 'tasks'} still running at --shutdown-timeout: ${cutOff === 1 ? 'its message was' : 'their messages were'} requeued and may be handled again`);
}
