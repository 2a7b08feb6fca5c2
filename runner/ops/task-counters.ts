/**
 * What a bound task counts, one object per task: the binding increments it, the metrics mirror it.
 * Its own file so that bind.ts and metrics.ts both import it and neither imports the other for it.
 */
export interface TaskCounters {
  received: number;
  finished: number;
  requeued: number;
  deadLettered: number;
  deduplicated: number;
  discarded: number;
}

/** Messages finished and requeued, summed over every task. */
export interface Handled {
  finished: number;
  requeued: number;
}

export function finishedAndRequeued(counters: ReadonlyMap<string, TaskCounters>): Handled {
  const sum: Handled = { finished: 0, requeued: 0 };
  for (const count of counters.values()) {
    sum.finished += count.finished;
    sum.requeued += count.requeued;
  }
  return sum;
}

/**
 * What a stop did to the messages in hand, for the "worker stopped" line: those finished and those
 * requeued (a task that failed or was cut off at --shutdown-timeout, a message that came after the
 * close began) between `before` and `after`.
 */
export function stopSummary(before: Handled, after: Handled): { finishedWhileStopping: number; requeuedWhileStopping: number } {
  return { finishedWhileStopping: after.finished - before.finished, requeuedWhileStopping: after.requeued - before.requeued };
}
