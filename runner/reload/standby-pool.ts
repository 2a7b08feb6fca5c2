/**
 * The warm standby children a reload loads the new code into. A child's start-up (Node, the
 * package, tsx and its hooks thread) takes about half a second of CPU, more than the time between
 * two saves of a person at work: one standby started after a swap is still starting when the next
 * save comes. So while the code is being edited (a reload in the last minute, or a single worker
 * just started under --watch) two are kept, each started a swap earlier than the one after it, and
 * a reload takes the one started first. After a minute without a reload the pool goes back to one,
 * which is all an occasional save needs, and saves the memory of a child (most of it tsx's thread).
 *
 * While a reload loads and swaps, none starts ({@link StandbyPool.hold}): a start-up is a fork in
 * the runner's thread (5-15 ms, measured, during which no message moves) and half a second of CPU,
 * both taken from the swap on a machine of two cores. They start once the new code has handled a
 * message.
 */
import type { Logger } from 'pino';
import type { HostProcess } from './host-process.ts';

/** Standbys kept while the code is being edited, and otherwise. */
export const STANDBYS_WHILE_EDITING = 2;
export const STANDBYS_IDLE = 1;
/** How long after a reload the code still counts as being edited. */
const EDITING_WINDOW_MS = 60_000;
/**
 * How long, in ms, a swap that is only waiting (for the old code's running tasks to finish, or for
 * the new code's first message) holds the standbys: past it no message is coming soon, or the
 * tasks run long, and a start-up takes nothing from the swap.
 */
export const STANDBY_HOLD_MS = 50;

/** What the pool needs of a child: {@link HostProcess} has it. */
export type Standby = Pick<HostProcess, 'pid' | 'warm' | 'isWarm' | 'hasExited' | 'kill'>;

export class StandbyPool<T extends Standby = HostProcess> {
  /** Oldest first: the oldest has had the longest to warm up. */
  private readonly standbys: T[] = [];
  private editing = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set while a reload loads and swaps: no standby starts until {@link release}. */
  private held = false;
  /** Counts holds, so that a release meant for one swap cannot end the hold of the next. */
  private holds = 0;
  private releaseTimer: NodeJS.Timeout | undefined;
  /** Set when the hold ends as the next run ({@link ran}) settles. */
  private releaseOnRun = false;

  constructor(
    private readonly log: Logger,
    private readonly spawn: () => T,
    private readonly editingWindowMs = EDITING_WINDOW_MS,
  ) {}

  /**
   * A standby, warm if one is (else the oldest, which will be warm first), or undefined if the
   * pool is empty. The pool is not refilled here: see {@link fill}.
   */
  take(): T | undefined {
    this.dropExited();
    const index = Math.max(
      0,
      this.standbys.findIndex((standby) => standby.isWarm),
    );
    return this.standbys.splice(index, 1)[0];
  }

  /** The code is being edited: keep {@link STANDBYS_WHILE_EDITING} from the next fill on, for a while. */
  markEditing(): void {
    if (this.closed) return;
    this.editing = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.shrink(), this.editingWindowMs);
    // A watcher that only waits for the next save must not keep the process alive.
    this.idleTimer.unref();
  }

  /** Starts standbys until the pool holds as many as it should now; none while a reload holds it. */
  fill(): void {
    this.dropExited();
    const wanted = this.editing ? STANDBYS_WHILE_EDITING : STANDBYS_IDLE;
    while (!this.closed && !this.held && this.standbys.length < wanted) {
      const standby = this.spawn();
      this.standbys.push(standby);
      standby.warm.then(
        () => this.log.debug({ pid: standby.pid, warm: this.warmCount(), standbys: this.standbys.length }, 'standby worker host warm'),
        () => {},
      );
    }
  }

  /** A reload is loading and swapping: start no standby until {@link release} or {@link releaseSoon}. */
  hold(): void {
    this.holds++;
    this.held = true;
    this.releaseOnRun = false;
    clearTimeout(this.releaseTimer);
  }

  /** The reload is done (refused, or the new code has run): start what the pool lacks. */
  release(): void {
    clearTimeout(this.releaseTimer);
    this.releaseOnRun = false;
    this.held = false;
    this.fill();
  }

  /**
   * Ends the hold in {@link STANDBY_HOLD_MS}, or, with `orOnFirstRun`, as soon as the next run
   * passed to {@link ran} (the new code's first) has settled, if sooner.
   */
  releaseSoon({ orOnFirstRun = false }: { orOnFirstRun?: boolean } = {}): void {
    const hold = this.holds;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => this.releaseHold(hold), STANDBY_HOLD_MS);
    this.releaseOnRun = orOnFirstRun;
  }

  /** A run of the active code began; returns its outcome, which may end the hold as it settles. */
  ran<R>(outcome: Promise<R>): Promise<R> {
    if (this.releaseOnRun) {
      this.releaseOnRun = false;
      const hold = this.holds;
      outcome.then(
        () => this.releaseHold(hold),
        () => this.releaseHold(hold),
      );
    }
    return outcome;
  }

  private releaseHold(hold: number): void {
    if (hold === this.holds && this.held) this.release();
  }

  /** Kills every standby; no more start. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.releaseTimer);
    for (const standby of this.standbys.splice(0)) standby.kill();
  }

  private shrink(): void {
    this.editing = false;
    // The newest go: the oldest are the likeliest to be warm already.
    while (this.standbys.length > STANDBYS_IDLE) this.standbys.pop()!.kill();
  }

  private warmCount(): number {
    return this.standbys.filter((standby) => standby.isWarm).length;
  }

  /** A standby that died (killed from outside, out of memory) is no use: forget it. */
  private dropExited(): void {
    for (let i = this.standbys.length - 1; i >= 0; i--) if (this.standbys[i]!.hasExited) this.standbys.splice(i, 1);
  }
}
