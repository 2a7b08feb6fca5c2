/**
 * What a Consumer says of itself when no one asked: the warning that maxInFlight is below its
 * connections (RDY then rotates, client/rdy.ts), and the process warning for a handler that failed
 * where nothing listens for `requeued` (the first one only, as for an `error` nobody hears,
 * client/events.ts), so that a throwing handler does not look like a message that vanished.
 */
import type { ConsumerWarning } from './consumer-types.ts';
import { asRequeueMessage } from './errors.ts';
import type { Message } from './message.ts';
import { rotationWaitMs } from './rdy.ts';

/** `W_MAX_IN_FLIGHT_BELOW_CONNECTIONS` for `connections` sharing `maxInFlight`, RDY rotating every `intervalMs`. */
export function belowConnectionsWarning(maxInFlight: number, connections: number, intervalMs: number): ConsumerWarning {
  const n = connections;
  return {
    code: 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS',
    message:
      `maxInFlight ${maxInFlight} is below the ${n} connections: RDY rotates among them every ${intervalMs}ms, ` +
      `so a message may wait at an nsqd up to ${rotationWaitMs(n, maxInFlight, intervalMs)}ms; a maxInFlight of ${n} or more reads from every nsqd at once`,
    connections: n,
  };
}

/**
 * Prints the process warning for a handler's `error` that requeued `message` with `delayMs`, nobody
 * listening; true when printed. Nothing for a requeue the handler asked for (RequeueMessage).
 */
export function warnUnheardFailure(error: Error | undefined, message: Message, delayMs: number, maxAttempts: number): boolean {
  if (error === undefined || asRequeueMessage(error) !== undefined) return false;
  process.emitWarning(
    `Consumer handler failed, and no 'requeued' listener (consumer.on('requeued', (message, delayMs, error) => ...) to see each; later ones are not shown): ` +
      `${error.message}; message ${message.id} requeued with a ${delayMs}ms delay (attempt ${message.attempts} of ${maxAttempts === 0 ? 'unlimited' : maxAttempts})`,
    'NsqworkerWarning',
  );
  return true;
}
