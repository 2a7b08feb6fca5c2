/**
 * A task consumer's warnings, in the runner's terms. The client words them for its options
 * (`maxInFlight`); a worker's user sets `--max-in-flight`, per task, so the line names the flag and
 * the value that ends the wait. With `--max-in-flight 1` (the default, as go-nsq's) and two nsqd,
 * the nsqd take turns at RDY 1 (client/rdy.ts): nothing is lost, but a message can wait its turn.
 */
import type { Logger } from 'pino';
import type { Consumer } from '../../client/consumer.ts';
import type { ConsumerWarning } from '../../client/consumer-types.ts';
import { rotationWaitMs } from '../../client/rdy.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

/** W_COMPRESSION_DECLINED messages said so far: each task's consumer, at each reconnect, would say the same. */
const declinedSaid = new Set<string>();

/**
 * Logs `warning` from `consumer` as one warning line, its code and figures as fields; a declined
 * compression once per nsqd and process, at debug after that.
 */
export function logConsumerWarning(log: Logger, consumer: Consumer, warning: ConsumerWarning): void {
  const { maxInFlight, rdyRedistributeIntervalMs } = consumer.options;
  if (warning.code === 'W_COMPRESSION_DECLINED') {
    if (declinedSaid.has(warning.message)) log.debug(warning, warning.message);
    else log.warn(warning, warning.message);
    declinedSaid.add(warning.message);
    return;
  }
  if (warning.code !== 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS' || warning.connections === undefined) {
    log.warn(warning, warning.message);
    return;
  }
  const n = warning.connections;
  log.warn(
    { code: warning.code, maxInFlight, connections: n },
    `--max-in-flight ${maxInFlight} is below the ${n} nsqd this task reads from: they take turns at RDY, ${formatDurationMs(rdyRedistributeIntervalMs)} a turn, ` +
      `so a message may wait at an nsqd up to ${formatDurationMs(rotationWaitMs(n, maxInFlight, rdyRedistributeIntervalMs))}; --max-in-flight ${n} or more reads from every nsqd at once`,
  );
}
