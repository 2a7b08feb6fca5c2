/**
 * Which child a reload loads the code into, and when code loaded beside older code moves to a
 * fresh child (reloading-executor.ts).
 *
 * A save loads into the running child, beside its code: 30-50 ms from save to swap, where a
 * standby's first load takes 60-90 ms and a child's start-up half a second of CPU, more than the
 * time between two saves of a person at work (standby-pool.ts). `npm run bench reload-probe`, saves
 * 300 ms apart: median 38-42 ms and max 60-70, against 540 and 646 ms with every save in a standby.
 *
 * But the code loaded beside shares its child with what the old code's modules left running (a
 * timer, a socket: Node cannot unload a module), and memory grows with each load: once the saves
 * pause for {@link MOVE_AFTER_QUIET_MS}, no task runs and a standby is warm, the code is loaded into
 * it and swapped in as for a save, and the old child exits. No child takes more than
 * {@link MAX_LOADS_PER_HOST} loads, failed ones counted (each may leave what its modules started).
 * A load beside that fails is tried in a fresh child before it counts (reloading-executor.ts).
 */
import type { Logger } from 'pino';
import type { HostProcess } from './host-process.ts';
import type { StandbyPool } from './standby-pool.ts';

/** Loads begun in one child, its first and failed ones among them: past it a reload takes a standby. */
export const MAX_LOADS_PER_HOST = 20;
/** How long without a reload, in ms, before code loaded beside older code moves to a fresh child. */
export const MOVE_AFTER_QUIET_MS = 1000;
/**
 * How long, in ms, a move holds new messages for the old child's running tasks: past it the move is
 * given up until the next pause, rather than hold new messages behind a long task no save asked to wait for.
 */
export const MOVE_IDLE_WAIT_MS = 100;

/** Resolves true once `host` runs no task, false if it still does after `ms`. */
export async function idleWithin(host: Pick<HostProcess, 'idle'>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const idle = await Promise.race([host.idle().then(() => true as const), late]);
  clearTimeout(timer);
  return idle;
}

export class LoadPlacement {
  private moveTimer: NodeJS.Timeout | undefined;
  /** A load beside failed where a fresh child's succeeded: the code cannot load twice in one process. */
  private besideFails = false;

  constructor(
    private readonly log: Logger,
    private readonly standbys: StandbyPool,
    private readonly spawn: () => HostProcess,
    /** Moves the code to a fresh child now: a reload that takes a warm standby ({@link target}). */
    private readonly move: () => void,
    /** Whether a reload runs now (it cancels a move as it begins, and calls {@link afterReload} if it swaps). */
    private readonly reloading: () => boolean,
  ) {}

  /**
   * Where a reload loads: the running child `active`; but a warm standby when the old code has tasks
   * running (the swap waits for them anyway, and one that holds its child's event loop would hold a
   * load beside it up; none is before the first save, which loads beside them); and else, after a crash, past {@link MAX_LOADS_PER_HOST} or once the code
   * cannot load beside itself ({@link loadsBesideFail}), a standby still starting or a new child. A
   * move (`moving`) takes a warm standby, or nothing.
   */
  target(active: HostProcess, moving: boolean): HostProcess | undefined {
    if (moving || (active.inFlight > 0 && this.standbys.hasWarm())) return this.standbys.take({ warmOnly: true });
    if (!this.besideFails && !active.hasExited && active.loadsBegun < MAX_LOADS_PER_HOST) return active;
    return this.standbys.take() ?? this.spawn();
  }

  /**
   * The code failed to load beside older code and then loaded in a fresh child (a name registered
   * once per process, say): from now on every save loads in a standby, as the first load did, rather
   * than fail beside the running code first. Returns true the first time, to say so once.
   */
  loadsBesideFail(): boolean {
    const first = !this.besideFails;
    this.besideFails = true;
    return first;
  }

  /**
   * New code took over in `active`: if it was loaded beside older code, it moves once
   * {@link MOVE_AFTER_QUIET_MS} pass without a reload, no task runs and a standby is warm; else later.
   */
  afterReload(active: HostProcess, deferred = false): void {
    this.cancel();
    if (active.loadsBegun < 2) return;
    this.moveTimer = setTimeout(() => {
      if (this.reloading()) return;
      if (this.standbys.hasWarm() && active.inFlight === 0) return this.move();
      // Said once per pause, not every second of a long task.
      if (!deferred) this.log.debug({ running: active.inFlight, standbyWarm: this.standbys.hasWarm() }, 'worker code not moved yet: a task runs, or no standby is warm');
      this.afterReload(active, true);
    }, MOVE_AFTER_QUIET_MS);
    // A watcher that only waits for the next save must not keep the process alive.
    this.moveTimer.unref();
  }

  /** No move comes: shutting down. */
  cancel(): void {
    clearTimeout(this.moveTimer);
  }
}
