/**
 * The line a worker logs when it gives a message up. A task's own GiveUpMessage is its decision, as a
 * RequeueMessage is: a warning with its reason, no stack. Running out of attempts is a failure: an
 * error, with the last one's stack (down to the task's frames: task-stack.ts).
 */
import type { Logger } from 'pino';
import type { Message } from '../../client/message.ts';
import { isGiveUpMessage } from '../../client/errors.ts';
import { loggedTaskError } from './task-stack.ts';

/** `fate`: where the message goes (`dead-lettered to topic t.dead_letter`, or dropped). */
export function logGiveUp(log: Logger, message: Message, error: Error | undefined, fate: string): void {
  const where = { messageId: message.id, attempts: message.attempts };
  if (isGiveUpMessage(error)) log.warn({ ...where, reason: error!.message }, `the task gave up on the message: ${fate}`);
  else log.error({ ...where, err: loggedTaskError(error, log.isLevelEnabled('debug')) }, `giving up on message: ${fate}`);
}
