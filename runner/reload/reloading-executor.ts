/**
 * Hot reload for `--watch`. The worker's code runs in a child process; when one of its files (or the
 * config file) changes, the new code loads (beside the old in the running child, or in a warm
 * standby child: load-placement.ts), and only if that succeeds do we swap: new messages wait at a
 * gate, the running ones finish on the old code, the dedup queues are brought up to date in the
 * child of the new, the gate opens, and the old code runs the worker's close hook (and its child,
 * if the new code is in another, exits). A broken edit leaves the old code running and says why.
 *
 * Why children: Node cannot unload ES modules, so code loaded in one process, with its timers and
 * sockets, lives as long as the process; a child that exits releases everything. Code loaded beside
 * older code moves to a fresh child once the saves pause. The broker, connections and dedup queues
 * stay in the parent (a reload loses no message, runs none twice).
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ExecutorDeps } from '../ops/bind.ts';
import type { TaskExecutor } from '../ops/executor.ts';
import type { TaskInput, TaskOutcome } from '../worker/pipeline.ts';
import { HostLoadError, HostProcess, type LoadedCode } from './host-process.ts';
import { isCommonJsFile, warmUpFolder, type ModuleSystem } from '../worker/user-code.ts';
import { CodeWatch } from './code-watch.ts';
import { StandbyPool } from './standby-pool.ts';
import { LoadPlacement } from './load-placement.ts';
import { unchangedSince } from './file-snapshot.ts';
import type { ReloadEvents, ReloadRequest } from './protocol.ts';
import { reloadFailureLine } from './reload-failure.ts';

export class ReloadingExecutor implements TaskExecutor {
  private active!: HostProcess;
  private readonly standbys: StandbyPool;
  /** Where each child writes the throwaway module it warms tsx up with. */
  private readonly warmUpFolder = warmUpFolder();
  /** Which of tsx's loaders the children warm up: the worker file's module system. */
  private readonly moduleSystem: ModuleSystem;
  private gate: Promise<void> | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly watch: CodeWatch;
  private closed = false;
  private aborted = false;
  /** Old children running their close hook: shutdown waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  /** Under dev (no edits expected from the start) a removed worker file stops the worker, which dev says. */
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
    private readonly publishAddresses: string[],
    private readonly workersDir: string,
    private readonly log: Logger,
    private readonly events: ReloadEvents,
  ) {
    this.moduleSystem = isCommonJsFile(request.file) ? 'commonjs' : 'module';
    this.standbys = new StandbyPool(log, () => this.spawnHost());
    this.watch = new CodeWatch(workersDir, request.configPath);
    this.placement = new LoadPlacement(this.standbys, () => this.spawnHost(), () => {
      if (this.closed || this.aborted) return;
      this.moving = true;
      void this.reload();
    });
  }

  /** Starts the first child and loads the worker in it; a worker that does not load is an error here. */
  static async start(params: {
    taskNames: readonly string[];
    deps: ExecutorDeps;
    request: ReloadRequest;
    publishAddresses: string[];
    workersDir: string;
    watch: boolean;
    /**
     * Edits are expected from the start (one worker run with --watch): the standby starts beside
     * the first child. Under dev, each worker waits for its first save.
     */
    editing?: boolean;
    log: Logger;
    events?: ReloadEvents;
  }): Promise<ReloadingExecutor> {
    const { taskNames, deps, request, publishAddresses, workersDir, log, events = {} } = params;
    const executor = new ReloadingExecutor(taskNames, deps, request, publishAddresses, workersDir, log, events);
    executor.stopsOnRemoval = params.editing !== true;
    const first = executor.spawnHost();
    // On two cores the standby starts up beside the first child, so that a save soon after the
    // start whose old code has a task running finds it warm.
    if (params.editing === true) executor.standbys.fill();
    await executor.loadInto(first).catch((error: unknown) => {
      // Nothing of a start that failed stays behind.
      first.kill();
      executor.standbys.close();
      throw error;
    });
    executor.activate(first);
    executor.standbys.fill();
    if (params.watch) {
      executor.watch.start(() => void executor.reload(), params.log);
      executor.watch.update(first.files, first.snapshots);
    }
    return executor;
  }

  async run(task: string, input: TaskInput): Promise<TaskOutcome> {
    // Wait at the gate of a swap, and while the code is loaded again after its child died.
    for (;;) {
      if (this.gate !== undefined) await this.gate;
      else if (this.active.hasExited && this.reloading !== undefined) await this.reloading;
      else return this.standbys.ran(this.active.run(task, input));
    }
  }

  abort(): void {
    // Shutting down: a reload finishing now must not swap in a child that never heard of it, and
    // no reload comes after, so no standby is of use: none starts while the tasks drain.
    this.aborted = true;
    this.placement.cancel();
    this.standbys.close();
    this.active.abort();
    // A load still going (a module awaiting at its top level, for ever perhaps) is of no use now,
    // and shutdown waits for the reload: it ends, failed, and is not reported. One beside the
    // running code ends with it.
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

  /** Loads the current code into a new child and swaps it in; resolves when done or refused. */
  reload(): Promise<void> {
    if (this.closed || this.aborted) return Promise.resolve();
    if (this.reloading !== undefined) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.reloadOnce().finally(() => {
      this.reloading = undefined;
      this.loading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      } else if (!this.closed && !this.aborted) this.placement.afterReload(this.active, () => this.reloading !== undefined);
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const started = performance.now();
    const saves = this.watch.takeSaves();
    if (saves === undefined) return;
    const { changed, snapshots } = saves;
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
    const next = this.placement.target(this.active, moving);
    if (next === undefined) return hold.release();
    const inPlace = next === this.active;
    this.loading = next;
    let settings: Record<string, unknown>;
    let startAdded: (() => void) | undefined;
    try {
      const loaded = await this.loadInto(next);
      settings = loaded.settings;
      const same = loaded.taskNames.length === this.taskNames.length && loaded.taskNames.every((task, i) => task === this.taskNames[i]);
      if (!same) {
        // Removed tasks drain on the old code now; added ones start once the new code is in.
        this.log.info({ from: this.taskNames, to: loaded.taskNames }, `the worker's tasks changed: ${this.taskNames.join(', ')} → ${loaded.taskNames.join(', ')}`);
        startAdded = await this.deps.changeTasks(loaded.taskNames);
        this.taskNames = loaded.taskNames;
      }
    } catch (error) {
      if (!inPlace) next.kill();
      hold.release();
      if (this.aborted) return;
      if (this.reloadAgain || !unchangedSince(snapshots, changed)) {
        // Saved again while this loaded (a quick fix, or the next save began and the child read
        // it half-written): the newer content is loaded next, its outcome is the one to report.
        this.log.debug({ err: error }, 'reload superseded by a newer save');
        return;
      }
      if (error instanceof HostLoadError) {
        this.watch.loadFailed(error.files);
        this.watch.update(this.active.files, error.snapshots);
      }
      const { fields, message } = reloadFailureLine(error, changed, this.log.isLevelEnabled('debug'));
      this.log.error(fields, message);
      this.events.reloadFailed?.(error as Error);
      this.watch.told(saves);
      return;
    }
    // Swap: hold new messages, let the old code finish what it has, then hand over.
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    const old = this.active;
    // Tasks that run long hold the swap up, not the standbys; and every new message: say so.
    hold.releaseSoon();
    const waitNote = setTimeout(() => this.log.info({ running: old.inFlight }, `reload waits for ${old.inFlight} task(s) still running on the old code; new messages wait too`), 1000);
    await old.idle();
    clearTimeout(waitNote);
    // idle() resolves as the last outcome arrives; the handler that adds its key to the parent's
    // dedup queue resumes a few promise jobs later. One macrotask turn lets every such job run, so
    // the snapshot below holds the key of every message the old code finished.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.aborted) {
      // Shutdown began during the load: keep the code that has been told to stop. The pool closed
      // at abort(), so the end of the hold starts nothing. (Code loaded beside closes with its child.)
      if (!inPlace) next.kill();
      hold.release();
      this.gate = undefined;
      open();
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
    if (inPlace) return;
    const retired = old.close().finally(() => this.retiring.delete(retired));
    this.retiring.add(retired);
  }

  private spawnHost(): HostProcess {
    return new HostProcess(this.moduleSystem, this.warmUpFolder);
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
    host.onFiles((loadedAs) => {
      if (host !== this.active || this.closed) return;
      this.watch.update(host.files, loadedAs);
    });
  }

  private loadInto(host: HostProcess): Promise<LoadedCode> {
    return host.load({
      ...this.request,
      topic: this.deps.topic,
      channel: this.deps.channel,
      publishAddresses: this.publishAddresses,
      dedup: this.deps.dedupSnapshot(),
      watched: this.watch.watched,
    });
  }
}
