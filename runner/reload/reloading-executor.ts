/**
 * Hot reload for `--watch`. The worker's code runs in a child process; when one of its files (or the
 * config file) changes, the new code loads (beside the old in the running child, or in a warm
 * standby child: load-placement.ts), and only if that succeeds do we swap: new messages wait at a
 * gate, the running ones finish on the old code, the dedup queues are brought up to date in the
 * child of the new, the gate opens, and the old code runs the worker's close hook (and its child,
 * if the new code is in another, exits). A broken edit leaves the old code running and says why.
 *
 * Why children: Node cannot unload ES modules; a child that exits releases all its code left running
 * (code loaded beside older code moves to a fresh child once the saves pause). The broker, connections
 * and dedup queues stay in the parent: a reload loses no message, runs none twice.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ExecutorDeps } from '../ops/bind.ts';
import { NotStartedAtShutdown, type TaskExecutor } from '../ops/executor.ts';
import type { TaskInput, TaskOutcome } from '../worker/pipeline.ts';
import { HostLoadError, type HostProcess, type LoadedCode } from './host-process.ts';
import { CodeLoader } from './code-loader.ts';
import { CodeWatch, type Saves } from './code-watch.ts';
import { StandbyPool } from './standby-pool.ts';
import { idleWithin, LoadPlacement, MOVE_IDLE_WAIT_MS } from './load-placement.ts';
import { unchangedSince } from './file-snapshot.ts';
import type { ReloadEvents, ReloadRequest, ReloadStart } from './protocol.ts';
import { reportReloadFailure } from './reload-failure.ts';

export class ReloadingExecutor implements TaskExecutor {
  private active!: HostProcess;
  private readonly standbys: StandbyPool;
  private readonly loader: CodeLoader;
  private gate: Promise<void> | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  /** Tasks of the old code the swap has waited for a second or more, or 0: a save meanwhile is told so. */
  private swapWaits = 0;
  private readonly watch: CodeWatch;
  private closed = false;
  private aborted = false;
  private abortNow: () => void = () => {};
  /** Resolves at abort(): a swap waiting for tasks that never end must not hold shutdown up. */
  private readonly abortion = new Promise<void>((resolve) => (this.abortNow = resolve));
  /** Old children running their close hook: shutdown waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  /** Under dev a removed worker file stops the worker, which dev says. */
  private stopsOnRemoval = false;
  /** The child a reload loads the new code into, until that reload ends. */
  private loading: HostProcess | undefined;
  private readonly placement: LoadPlacement;
  /** The next reload moves the code to a fresh child (load-placement.ts). */
  private moving = false;
  reloads = 0;

  private constructor(
    public taskNames: readonly string[],
    private readonly deps: ExecutorDeps,
    private readonly request: ReloadRequest,
    publishAddresses: string[],
    workersDir: string,
    private readonly log: Logger,
    private readonly events: ReloadEvents,
  ) {
    this.watch = new CodeWatch(workersDir, request.configPath);
    this.loader = new CodeLoader(request, deps, publishAddresses, () => this.watch.watched);
    this.standbys = new StandbyPool(log, () => this.loader.spawn());
    this.placement = new LoadPlacement(log, this.standbys, () => this.loader.spawn(), () => this.move(), () => this.reloading !== undefined);
  }

  /** Starts the first child (or takes `firstHost`, forked earlier) and loads the worker in it; a worker that does not load is an error here. */
  static async start(params: ReloadStart, firstHost?: HostProcess): Promise<ReloadingExecutor> {
    const { taskNames, deps, request, publishAddresses, workersDir, log, events = {} } = params;
    const executor = new ReloadingExecutor(taskNames, deps, request, publishAddresses, workersDir, log, events);
    executor.stopsOnRemoval = params.stopsOnRemoval === true;
    const first = firstHost ?? executor.loader.spawn();
    await executor.loader.load(first).catch((error: unknown) => {
      // Nothing of a start that failed stays behind.
      first.kill();
      throw error;
    });
    executor.activate(first);
    // No standby until the first save (standby-pool.ts): a run that is never edited starts none.
    if (params.watch) {
      executor.watch.start(() => void executor.reload(), params.log);
      executor.watch.update(first.files, first.snapshots);
    }
    return executor;
  }

  async run(task: string, input: TaskInput): Promise<TaskOutcome> {
    // Wait at the gate of a swap, and while the code is loaded again after its child died; a message
    // still waiting when shutdown begins goes back to nsqd (it may have timed out there by then).
    for (;;) {
      if (this.gate !== undefined) await this.gate;
      else if (this.active.hasExited && this.reloading !== undefined) await this.reloading;
      else return this.standbys.ran(this.active.run(task, input));
      if (this.aborted) throw new NotStartedAtShutdown();
    }
  }

  abort(): void {
    // Shutting down: a reload finishing now must not swap in a child that never heard of it, and
    // no reload comes after, so no standby is of use: none starts while the tasks drain.
    this.aborted = true;
    this.abortNow();
    this.placement.cancel();
    this.standbys.close();
    this.active.abort();
    // A load still going (a module awaiting at its top level, for ever perhaps) is of no use now, and
    // shutdown waits for the reload: it ends, failed, unreported (one beside the running code, with it).
    if (this.loading === this.active) this.loading.abandonLoad();
    else this.loading?.kill();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.placement.cancel();
    await this.watch.close();
    await this.reloading;
    this.standbys.close();
    await Promise.all([this.active.close(), ...this.retiring]);
  }

  /** Loads the current code and swaps it in; resolves when done or refused. */
  reload(): Promise<void> {
    if (this.closed || this.aborted) return Promise.resolve();
    if (this.reloading !== undefined) {
      // A save while the swap waits for the old code's tasks (one that never ends holds it for good): said.
      if (this.swapWaits > 0) this.log.info({ running: this.swapWaits }, `saved again: the reload still waits for ${this.swapWaits} task(s) on the old code, then loads this save; a task that never ends holds it until the worker stops`);
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.reloadOnce().finally(() => {
      this.reloading = undefined;
      this.loading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const started = performance.now();
    const saves = this.watch.takeSaves();
    if (saves === undefined) return;
    // A move waiting for the saves to pause: they did not.
    this.placement.cancel();
    const { changed } = saves;
    if (changed.size > 0 && !existsSync(this.request.file)) {
      // Removed (dev stops its worker for that) or moved away: nothing to load, nothing failed. After a
      // crash (nothing changed) there is no running code to keep: the load is tried, and says why it fails.
      if (this.stopsOnRemoval) this.log.debug({ file: this.request.file }, 'worker file removed: the worker is stopped');
      else this.log.warn({ file: this.request.file }, 'worker file removed: the running code stays in place until the file is back');
      this.watch.told(saves);
      return;
    }
    const moving = this.moving;
    this.moving = false;
    const hold = this.standbys.hold();
    const target = this.placement.target(this.active, moving);
    if (target === undefined) return hold.release();
    let next = target;
    let settings: Record<string, unknown>;
    let startAdded: (() => void) | undefined;
    try {
      const { host, loaded } = await this.loadCode(target, saves);
      next = host;
      // A file of the save changed while this loaded beside the running code: the newer content, loaded
      // next as fast, takes over, not code perhaps read half-written. Not in another child (each takes a
      // start-up), nor while old tasks run (the newer load would wait on them unseen, in their child).
      if (!moving && host === this.active && host.inFlight === 0 && !unchangedSince(saves.snapshots, saves.changed)) throw new Error('superseded by a newer save before it took over');
      settings = loaded.settings;
      const same = loaded.taskNames.length === this.taskNames.length && loaded.taskNames.every((task, i) => task === this.taskNames[i]);
      if (!same) {
        // Removed tasks drain on the old code now; added ones start once the new code is in.
        this.log.info({ from: this.taskNames, to: loaded.taskNames }, `the worker's tasks changed: ${this.taskNames.join(', ')} → ${loaded.taskNames.join(', ')}`);
        startAdded = await this.deps.changeTasks(loaded.taskNames);
        this.taskNames = loaded.taskNames;
      }
    } catch (error) {
      // One loaded that failed after (the change of tasks): it never took over.
      if (next !== this.active) next.kill();
      hold.release();
      if (this.aborted) return;
      // A move's code ran, so its failure means a save came since: that save's reload says what is wrong.
      if (moving) return this.log.debug({ err: error }, 'moving the worker code to a fresh worker host failed');
      if (this.superseded(saves)) {
        // Saved again while this loaded (a quick fix, or the next save began and the child read it
        // half-written): the newer content is loaded next, its outcome the one to report or swap in.
        this.log.debug({ err: error }, 'reload superseded by a newer save');
        return;
      }
      return reportReloadFailure(error, saves, { watch: this.watch, running: this.active, log: this.log, events: this.events });
    }
    const inPlace = next === this.active;
    // Swap: hold new messages, let the old code finish what it has, then hand over.
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    const old = this.active;
    // Tasks that run long hold the swap up, not the standbys; and every new message: say so.
    hold.releaseSoon();
    // No one asked for a move: new messages never wait behind a long task for one.
    const givenUp = moving && !(await idleWithin(old, MOVE_IDLE_WAIT_MS));
    const waitNote = setTimeout(() => this.log.info({ running: (this.swapWaits = old.inFlight) }, `reload waits for ${old.inFlight} task(s) still running on the old code; new messages wait too`), 1000);
    if (!givenUp) await Promise.race([old.idle(), this.abortion]);
    clearTimeout(waitNote);
    this.swapWaits = 0;
    // idle() resolves as the last outcome arrives, the parent's dedup queue gets its key a few promise
    // jobs later: one macrotask turn, and the snapshot below holds every key the old code finished.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.aborted || givenUp) {
      // Shutdown began during the load: keep the code that has been told to stop (the pool closed at
      // abort(), so the end of the hold starts nothing; code loaded beside closes with its child).
      // A move given up comes again at the next pause.
      if (!inPlace) next.kill();
      hold.release();
      this.gate = undefined;
      open();
      if (givenUp) this.placement.afterReload(this.active);
      return;
    }
    next.syncDedup(this.deps.dedupSnapshot());
    if (inPlace) next.swapLoaded();
    else this.activate(next);
    this.gate = undefined;
    open();
    hold.releaseSoon({ orOnFirstRun: true });
    startAdded?.();
    const durationMs = performance.now() - started;
    if (moving) this.log.debug({ hostPid: next.pid, durationMs: Math.round(durationMs) }, 'worker code moved to a fresh worker host');
    else {
      this.reloads++;
      this.log.info({ reloads: this.reloads, durationMs: Math.round(durationMs) }, 'worker code reloaded');
      this.events.reloaded?.({ reloads: this.reloads, durationMs, settings });
    }
    this.watch.loaded();
    this.watch.told(saves);
    // With what it loaded before it took over, as a standby.
    this.watch.update(next.files, next.snapshots);
    this.placement.afterReload(this.active);
    if (inPlace) return;
    const retired = old.close().finally(() => this.retiring.delete(retired));
    this.retiring.add(retired);
  }

  /**
   * Loads the code into `target` (load-placement.ts). A load beside the running code that fails may
   * fail for what that code left in its child (a metric registered once per process, a port taken),
   * so it is tried again in a fresh child before it counts as failed, unless a newer save came or
   * the code fails the same anywhere (it does not compile, say: load-failure.ts).
   * A child other than the running one that fails is killed.
   */
  private async loadCode(target: HostProcess, saves: Saves): Promise<{ host: HostProcess; loaded: LoadedCode }> {
    let host = target;
    try {
      this.loading = host;
      // Beside running tasks (the first save), one holding its child's event loop holds the load too.
      const note = setTimeout(() => host.inFlight > 0 && this.log.info({ running: host.inFlight }, `reload waits for ${host.inFlight} task(s) still running on the old code, beside which it loads (one holds its event loop?); new messages run on the old code until then`), 1000);
      try {
        return { host, loaded: await this.loader.load(host) };
      } catch (error) {
        if (host !== this.active || this.aborted || this.superseded(saves) || (error instanceof HostLoadError && error.failsAnywhere)) throw error;
        this.log.debug({ err: error }, 'the code did not load beside the running code: trying a fresh worker host');
      } finally {
        clearTimeout(note);
      }
      host = this.standbys.take() ?? this.loader.spawn();
      this.loading = host;
      const loaded = await this.loader.load(host);
      if (this.placement.loadsBesideFail()) this.log.info("the worker code did not load beside the code it replaces, and did in a fresh worker host (a name its modules register once per process?): saves load in fresh worker hosts from now on, slower (the error at --log-level debug)");
      return { host, loaded };
    } catch (error) {
      if (host !== this.active) host.kill();
      throw error;
    }
  }

  /** Moves the code to a fresh child now: a reload that takes a warm standby (load-placement.ts). */
  private move(): void {
    this.moving = true;
    void this.reload();
  }

  /** Saved again since `saves` began to load (a quick fix, or a file read half-written): the newer content loads next. */
  private superseded(saves: Saves): boolean {
    return this.reloadAgain || !unchangedSince(saves.snapshots, saves.changed);
  }

  private activate(host: HostProcess): void {
    this.active = host;
    // Under --watch a crash (process.exit in a task, an error thrown from a timer) would leave every
    // later message failing until the next save, then dead-lettered: load the code again instead.
    host.onUnexpectedExit(({ code, signal }) => {
      if (host !== this.active || this.closed || this.aborted) return;
      this.log.error({ hostPid: host.pid, code, signal }, 'worker host exited unexpectedly: loading the worker code again');
      void this.reload();
    });
    host.onFiles((loadedAs) => host === this.active && !this.closed && this.watch.update(host.files, loadedAs));
  }
}
