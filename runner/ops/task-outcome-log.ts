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
  // Its dead letter was refused: that line said the message is requeued.
  if (refusedDeadLetters.delete(message)) log.debug({ ...where, delayMs }, 'message requeued: its dead letter was refused');
  // No failure while shutting down. Requeued at close: messages delivered but not yet handled (up to
  // maxInFlight of them), and those of tasks cut off at --shutdown-timeout (logCutOff says those), one
  // line each at debug; a message held back at a reload's swap is said as such.
  else if (closing && error === undefined) log.debug(where, 'shutting down: message requeued unanswered');
  else if (closing && error instanceof NotStartedAtShutdown) log.warn(where, 'shutting down: message requeued before its task started');
  // The delay in the line itself: the default (--requeue-delay 90s × attempts) would otherwise look
  // like a lost message. The REQ's delay, the earliest redelivery: a backoff may hold it longer.
  else if (asRequeueMessage(error) !== undefined) log.info({ ...where, delayMs }, `message requeued as the task asked, with a ${formatDurationMs(delayMs)} delay`);
  else log.warn({ ...where, delayMs, ...failure(error, log) }, `task failed: message requeued with a ${formatDurationMs(delayMs)} delay`);
}

/**
 * A dead letter nsqd refused, thrown so that the consumer requeues the message: the line that gave
 * up on the message has said so, so the consumer's error and requeue for it are not said again.
 * `code` is nsqd's (E_UNAUTHORIZED: the AUTH secret may not publish to the dead letter topic).
 */
export class DeadLetterRefused extends Error {
  readonly code: unknown;
  constructor(readonly refusal: Error) {
    super(refusal.message, { cause: refusal });
    this.name = 'DeadLetterRefused';
    this.code = (refusal as { code?: unknown }).code;
  }
}

/** Messages whose dead letter nsqd refused, until their requeue is reported (logRequeue). */
const refusedDeadLetters = new WeakSet<Message>();

/**
 * Runs `send` (the dead letter's publish, or nothing when it is dropped); a refusal is one error line,
 * `what` first, then thrown as {@link DeadLetterRefused}.
 */
async function sendOrSay(log: Logger, message: Message, what: string, fields: object, fate: string, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (refused) {
    const reason = (refused as Error).message;
    log.error({ messageId: message.id, attempts: message.attempts, ...fields, deadLetterError: reason }, `${what}, but it could not be ${fate}: ${reason}; it is requeued`);
    refusedDeadLetters.add(message);
    throw new DeadLetterRefused(refused as Error);
  }
}

/**
 * Gives up on a message: `send` dead-letters it (or drops it), then the line says where it went. A
 * dead letter nsqd refuses is said as such and thrown ({@link DeadLetterRefused}): the consumer then
 * requeues the message, which is not lost.
 */
export async function giveUp(log: Logger, message: Message, error: Error | undefined, fate: string, send: () => Promise<void>): Promise<void> {
  await sendOrSay(log, message, 'giving up on message', failure(error, log), fate, send);
  logGiveUp(log, message, error, fate);
}

/**
 * A message the worker rejected for its body (its schema or `validate`) before any task ran: `send`
 * dead-letters it (or drops it), then the line says so; a refused dead letter as {@link giveUp}.
 */
export async function reject(log: Logger, message: Message, reason: string, fate: string, send: () => Promise<void>): Promise<void> {
  await sendOrSay(log, message, 'message rejected before any task ran', { reason }, fate, send);
  log.warn({ messageId: message.id, reason }, `message rejected: discarded without running the tasks, ${fate}`);
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
