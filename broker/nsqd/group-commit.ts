/**
 * Group commit for sync mode: records are written to their files at once (so a full disk is
 * answered at once, with nothing queued), and the fsyncs that make them durable are done together,
 * once per event-loop turn, before any byte of an answer leaves the process. A publish's `OK` sits
 * in its connection's output buffer until then (output-buffer.ts commits before it writes), so an
 * acknowledged message is always on stable storage, and a hundred publishes in one turn cost one
 * fsync per file instead of a hundred.
 *
 * A commit runs in three phases, each one relying on the previous ones:
 * 1. `data`: the disk queues' data files (fdatasync);
 * 2. `journal`: the deferred-message journals, whose "done" records say a message now lives in a
 *    queue (phase 1 made that copy durable);
 * 3. `meta`: the disk queues' metadata, whose read positions say a record was finished or moved
 *    elsewhere (phases 1 and 2 made the moved copies durable).
 * A failure in a phase stops the commit there, so no later phase ever claims more than is on disk.
 * Whoever waits for an acknowledgement registers with `awaitCommit`; when a commit fails, each of
 * them is aborted (its connection dropped with the `OK` unsent) rather than told a lie.
 */

/** Something with writes to make durable in one phase of a commit. */
export interface Committable {
  /** Makes this phase's writes durable; throws when it cannot (the item stays failed: see callers). */
  commit(phase: CommitPhase): void;
}

export const CommitPhase = { Data: 0, Journal: 1, Meta: 2 } as const;
export type CommitPhase = (typeof CommitPhase)[keyof typeof CommitPhase];

/** Told when the commit its acknowledgement waited for failed. */
export interface CommitWaiter {
  commitFailed(error: unknown): void;
}

export class GroupCommit {
  private readonly phases: [Set<Committable>, Set<Committable>, Set<Committable>] = [new Set(), new Set(), new Set()];
  private readonly waiters = new Set<CommitWaiter>();
  private scheduled: NodeJS.Immediate | undefined;
  private dirty = false;
  /** Commits run so far: for tests and benchmarks (fsync batches). */
  commits = 0;
  private readonly onImmediate = (): void => {
    this.scheduled = undefined;
    this.commit();
  };

  /** True while some write waits for its fsync. */
  get pending(): boolean {
    return this.dirty;
  }

  /** Registers writes to make durable in `phase`; a commit follows by the end of this turn at the latest. */
  markDirty(item: Committable, phase: CommitPhase): void {
    this.phases[phase].add(item);
    this.dirty = true;
    if (this.scheduled === undefined) this.scheduled = setImmediate(this.onImmediate);
  }

  /** Drops an item that closed or went away (its own close made it durable, or it was deleted). */
  forget(item: Committable): void {
    for (const set of this.phases) set.delete(item);
  }

  /** An acknowledgement now waits in an output buffer for the next commit. */
  awaitCommit(waiter: CommitWaiter): void {
    if (this.dirty) this.waiters.add(waiter);
  }

  /** Commits now if anything is pending. Returns false when the commit failed. */
  commitIfPending(): boolean {
    return this.dirty ? this.commit() : true;
  }

  /** Runs the three phases. Returns false (and aborts every waiter) when one failed. */
  commit(): boolean {
    if (!this.dirty) return true;
    this.dirty = false;
    this.commits++;
    let failure: unknown;
    let failed = false;
    for (let phase = 0; phase < this.phases.length && !failed; phase++) {
      const set = this.phases[phase as CommitPhase];
      for (const item of set) {
        set.delete(item);
        try {
          item.commit(phase as CommitPhase);
        } catch (error) {
          // The item stays broken (it refuses new writes), so it is not retried; the later
          // phases wait for the next commit, so none of them claims what may not be on disk.
          failure = error;
          failed = true;
          break;
        }
      }
    }
    if (!failed) {
      this.waiters.clear();
      return true;
    }
    const waiters = [...this.waiters];
    this.waiters.clear();
    if (this.phases.some((set) => set.size > 0)) {
      this.dirty = true;
      if (this.scheduled === undefined) this.scheduled = setImmediate(this.onImmediate);
    }
    for (const waiter of waiters) waiter.commitFailed(failure);
    return false;
  }
}

/** The process's one group commit: every broker in the process shares it, as they share the disk. */
export const groupCommit = new GroupCommit();
