/**
 * The clock of message deadlines: a message's `deliveredAtMs` and `dueAtMs` count milliseconds from
 * when the broker's code loaded, not from 1970, so that they are small integers, which V8 keeps in
 * the message object itself. A `Date.now()` needs a separate number object per field and message:
 * two more allocations per message published, and a million-message backlog 32 MB larger (after
 * about 24 days the values outgrow small integers, and V8 reshapes messages once; nothing else
 * changes). Files keep deadlines as ms since the epoch: convert at the boundary.
 */
const ORIGIN_MS = Date.now();

let now = 0;
let nowIsRead = false;
const forgetNow = (): void => {
  nowIsRead = false;
};

/**
 * Now, on the deadline clock (ms), read once per task of the event loop: every message delivered
 * takes the time, and a clock read per delivery was 3.7% of the broker's time under bench_reader.
 * The value is as old as the synchronous work before it in this task (a fraction of a millisecond
 * per socket read); a timeout checked against it fires in the next task instead. `Math.floor` of a
 * whole number looks useless, but unoptimised code returns the difference of two large numbers as
 * a number object even when it is small, and one stored in a message would reshape them all as
 * above; `Math.floor` returns a small integer.
 */
export function deadlineNow(): number {
  if (!nowIsRead) {
    now = Math.floor(Date.now() - ORIGIN_MS);
    nowIsRead = true;
    queueMicrotask(forgetNow);
  }
  return now;
}

/** A deadline read from a file (ms since the epoch), on the deadline clock. */
export function deadlineFromEpochMs(epochMs: number): number {
  return Math.floor(epochMs - ORIGIN_MS);
}

/** A deadline to write to a file: ms since the epoch. */
export function deadlineToEpochMs(deadline: number): number {
  return deadline + ORIGIN_MS;
}
