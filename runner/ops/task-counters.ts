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

/** Messages finished and requeued over every task: {@link stopSummary} takes two of these. */
export function finishedAndRequeued(counters: ReadonlyMap<string, TaskCounters>): { finished: number; requeued: number } {
  let finished = 0;
  let requeued = 0;
  for (const count of counters.values()) {
    finished += count.finished;
    requeued += count.requeued;
  }
  return { finished, requeued };
}

/**
 * What a stop did to the messages in hand, for the "worker stopped" line: those finished and those
 * requeued (a task that failed, or gave up under the shutdown timeout) since the stop began.
 */
export function stopSummary(before: { finished: number; requeued: number }, after: { finished: number; requeued: number }): { finishedWhileStopping: number; requeuedWhileStopping: number } {
  return { finishedWhileStopping: after.finished - before.finished, requeuedWhileStopping: after.requeued - before.requeued };
}
