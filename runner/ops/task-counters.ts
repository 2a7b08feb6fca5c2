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
