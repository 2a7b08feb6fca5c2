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
 * message. And those already starting when the reload takes one are paused (SIGSTOP, see
 * HostProcess.pause and stop-guard.ts) until its load is done, however long the worker's module
 * takes: a load's calls between the child, tsx's thread and esbuild each wait for a core, and took
 * two to three times as long beside a standby starting.
 * `npm run bench reload-probe`, four alternating runs each: saves 600 ms apart, median 90-120 ms
 * and max 98-377 (two of four under 150), against 138-159 and 189-257; saves 300 ms apart, where
 * the standbys' start-ups take every core there is, max 409-578 against 584-803.
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
export type Standby = Pick<HostProcess, 'pid' | 'warm' | 'isWarm' | 'hasExited' | 'kill' | 'pause' | 'resume'>;

/**
 * A reload's hold on the pool, from {@link StandbyPool.hold}: no standby starts while it lasts, and
 * those still starting are paused from the reload's {@link StandbyPool.take} until its load is done.
 */
export interface StandbyHold {
  /** Ends the hold now, and the pool starts what it lacks; a hold ends once, a later call does nothing. */
  release(): void;
  /**
   * The load is done and the swap only waits: the standbys paused go on now, and the hold ends in
   * {@link STANDBY_HOLD_MS}, or, with `orOnFirstRun`, as soon as the next run passed to
   * {@link StandbyPool.ran} (the new code's first) has settled, if sooner. A later call replaces
   * this one.
   */
  releaseSoon(options?: { orOnFirstRun?: boolean }): void;
}

class Hold implements StandbyHold {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Set when the next run's settling ends the hold. */
  onFirstRun = false;

  constructor(
    /** Called as the hold ends, once. */
    private readonly onEnd: (hold: Hold) => void,
    /** Called as the swap only waits ({@link releaseSoon}): the load is done. */
    private readonly onLoadDone: () => void,
  ) {}

  release(): void {
    if (this.ended) return;
    this.ended = true;
    this.onFirstRun = false;
    clearTimeout(this.timer);
    this.onEnd(this);
  }

  releaseSoon({ orOnFirstRun = false }: { orOnFirstRun?: boolean } = {}): void {
    if (this.ended) return;
    this.onLoadDone();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.release(), STANDBY_HOLD_MS);
    this.onFirstRun = orOnFirstRun;
  }
}

export class StandbyPool<T extends Standby = HostProcess> {
  /** Oldest first: the oldest has had the longest to warm up. */
  private readonly standbys: T[] = [];
  private editing = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * The hold of the reload that loads and swaps now: no standby starts while it lasts. Only this
   * one's end starts them, so what is left of an earlier swap (its deadline, its first run
   * settling late) cannot end the hold of the next.
   */
  private held: Hold | undefined;

  constructor(
    private readonly log: Logger,
    private readonly spawn: () => T,
    private readonly editingWindowMs = EDITING_WINDOW_MS,
  ) {}

  /**
   * A standby, warm if one is (else the oldest, which will be warm first), or undefined if the
   * pool is empty. The pool is not refilled here: see {@link fill}. Under a hold, the standbys left
   * that are still starting are paused until the hold's load is done.
   */
  take(): T | undefined {
    this.dropExited();
    const index = Math.max(
      0,
      this.standbys.findIndex((standby) => standby.isWarm),
    );
    const taken = this.standbys.splice(index, 1)[0];
    // Paused by the reload before, it is this one's to load into now.
    taken?.resume();
    if (this.held !== undefined) for (const standby of this.standbys) if (!standby.isWarm) standby.pause();
    return taken;
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
    while (!this.closed && this.held === undefined && this.standbys.length < wanted) {
      const standby = this.spawn();
      this.standbys.push(standby);
      this.log.debug({ hostPid: standby.pid, standbys: this.standbys.length }, 'standby worker host starting');
      standby.warm.then(
        () => this.log.debug({ hostPid: standby.pid, warm: this.warmCount(), standbys: this.standbys.length }, 'standby worker host warm'),
        () => this.resumeAll(),
      );
    }
  }

  /** A reload is loading and swapping: no standby starts until the hold it gets ends. */
  hold(): StandbyHold {
    const previous = this.held;
    const hold = new Hold(
      (ended) => {
        if (ended !== this.held) return;
        this.held = undefined;
        this.resumeAll();
        this.fill();
      },
      () => this.resumeAll(),
    );
    this.held = hold;
    // What is left of the hold of an earlier swap (its deadline) ends here, and starts nothing.
    previous?.release();
    return hold;
  }

  /** A run of the active code began; returns its outcome, which may end the hold as it settles. */
  ran<R>(outcome: Promise<R>): Promise<R> {
    const hold = this.held;
    if (hold?.onFirstRun === true) {
      hold.onFirstRun = false;
      const release = (): void => hold.release();
      outcome.then(release, release);
    }
    return outcome;
  }

  /** Kills every standby; no more start. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.held?.release();
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

  private resumeAll(): void {
    for (const standby of this.standbys) standby.resume();
  }

  /** A standby that died (killed from outside, out of memory) is no use: forget it. */
  private dropExited(): void {
    for (let i = this.standbys.length - 1; i >= 0; i--) if (this.standbys[i]!.hasExited) this.standbys.splice(i, 1);
  }
}
