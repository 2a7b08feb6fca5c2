/**
 * The warm standby children that code moves to. A child's start-up (Node, the package, tsx and its
 * hooks thread) takes about half a second of CPU, more than the time between two saves of a person
 * at work, so a save loads the new code beside the old in the running child (reloading-executor.ts);
 * a standby takes the code when the saves pause, when the old code has tasks running (a task that
 * holds its event loop would hold a load beside it up), and after a crash. One is kept, from the first
 * save on: a run that is never edited (most under dev, where every worker is watched) starts none,
 * and a save's first load goes beside the running code anyway.
 *
 * While a reload loads and swaps, none starts ({@link StandbyPool.hold}): a start-up is a fork in
 * the runner's thread (5-15 ms, measured, during which no message moves) and half a second of CPU,
 * both taken from the swap on a machine of two cores. They start once the new code has handled a
 * message. And those already starting when a reload begins are paused (SIGSTOP, see
 * HostProcess.pause and stop-guard.ts) until its load is done, however long the worker's module
 * takes: a load's calls between the child, tsx's thread and esbuild each wait for a core, and took
 * two to three times as long beside a standby starting.
 */
import type { Logger } from 'pino';
import type { HostProcess } from './host-process.ts';

/** Standbys kept. */
export const STANDBYS = 1;
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
 * those still starting are paused until its load is done.
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
    /** How many standbys to keep. */
    private readonly size = STANDBYS,
  ) {}

  /**
   * A standby, warm if one is (else the oldest, which will be warm first; with `warmOnly`, none), or
   * undefined if the pool has none to give; one paused by a hold goes on. The pool is not refilled
   * here: see {@link fill}.
   */
  take({ warmOnly = false }: { warmOnly?: boolean } = {}): T | undefined {
    this.dropExited();
    const warm = this.standbys.findIndex((standby) => standby.isWarm);
    const taken = warm === -1 && warmOnly ? undefined : this.standbys.splice(Math.max(0, warm), 1)[0];
    // Paused by the hold, it is this one's to load into now.
    taken?.resume();
    return taken;
  }

  /** Whether a standby is warm now. */
  hasWarm(): boolean {
    return this.standbys.some((standby) => standby.isWarm);
  }

  /** Starts standbys until the pool holds as many as it should now; none while a reload holds it. */
  fill(): void {
    this.dropExited();
    while (!this.closed && this.held === undefined && this.standbys.length < this.size) {
      const standby = this.spawn();
      this.standbys.push(standby);
      this.log.debug({ hostPid: standby.pid, standbys: this.standbys.length }, 'standby worker host starting');
      standby.warm.then(
        () => this.log.debug({ hostPid: standby.pid, warm: this.warmCount(), standbys: this.standbys.length }, 'standby worker host warm'),
        () => this.resumeAll(),
      );
    }
  }

  /**
   * A reload is loading and swapping: no standby starts until the hold it gets ends, and those
   * still starting are paused until its load is done.
   */
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
    for (const standby of this.standbys) if (!standby.isWarm) standby.pause();
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
    this.held?.release();
    for (const standby of this.standbys.splice(0)) standby.kill();
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
