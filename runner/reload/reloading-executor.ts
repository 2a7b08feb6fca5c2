/**
 * Hot reload for `--watch`. The worker's code runs in a child process; when one of its files (or the
 * config file) changes, a warm standby child loads the new code, and only if that succeeds do we
 * swap: new messages wait at a gate, the running ones finish on the old child, the dedup queues are
 * brought up to date in the new one, the gate opens, and the old child runs the worker's close hook
 * and exits. A broken edit leaves the old code running and says why.
 *
 * Why a child process, not an in-process swap of a fresh module graph: Node cannot unload ES modules,
 * so the old graph, with its timers and sockets, would live on and memory grow with each save; a child
 * that exits releases everything. The broker, connections and dedup queues stay in the parent (a
 * reload loses no message, runs none twice); standbys kept warm pay the start-up ahead (standby-pool.ts).
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ExecutorDeps } from '../ops/bind.ts';
import type { TaskExecutor } from '../ops/executor.ts';
import type { TaskInput, TaskOutcome } from '../worker/pipeline.ts';
import { HostLoadError, HostProcess, type LoadedCode } from './host-process.ts';
import { isCommonJsFile, warmUpFolder, type ModuleSystem } from '../worker/user-code.ts';
import { ProjectWatcher, watchableFiles } from './project-watcher.ts';
import { StandbyPool } from './standby-pool.ts';
import { sameSnapshots, snapshotFiles, unchangedSince, type FileSnapshot } from './file-snapshot.ts';
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
  private watcher: ProjectWatcher | undefined;
  /** The files watched now: a child loading code snapshots each other file it loads. */
  private watched: string[] = [];
  /**
   * The files the last refused load imported, watched beside the running code's until a load succeeds:
   * a fix may land in one only the broken code imports (a new helper), not in the running code's list.
   */
  private failedLoadFiles: readonly string[] = [];
  private closed = false;
  private aborted = false;
  /** Old children running their close hook: shutdown waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  /** Files saved since the last reload began: a failure is blamed on the one that changed. */
  private changedFiles = new Set<string>();
  /** Under dev (no edits expected from the start) a removed worker file stops the worker, which dev says. */
  private stopsOnRemoval = false;
  /**
   * Each file saved before a reload whose outcome was told (swapped in, or refused and said why),
   * as that reload found it before loading it: the same content again gets the same outcome.
   */
  private readonly triedSnapshots = new Map<string, FileSnapshot>();
  /** The child a reload loads the new code into, until that reload ends. */
  private loading: HostProcess | undefined;
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
     * Edits are expected from the start (one worker run with --watch): the first standbys start
     * beside the first child, and two are kept from then on. Under dev, each worker waits for its
     * first save.
     */
    editing?: boolean;
    log: Logger;
    events?: ReloadEvents;
  }): Promise<ReloadingExecutor> {
    const { taskNames, deps, request, publishAddresses, workersDir, log, events = {} } = params;
    const executor = new ReloadingExecutor(taskNames, deps, request, publishAddresses, workersDir, log, events);
    executor.stopsOnRemoval = params.editing !== true;
    const first = executor.spawnHost();
    // On two cores the first standby starts up beside the first child, so that a save soon after
    // the start finds it warm; a second one waits for the first load, not to slow the start more.
    if (params.editing === true) executor.standbys.fill();
    await executor.loadInto(first).catch((error: unknown) => {
      // Nothing of a start that failed stays behind.
      first.kill();
      executor.standbys.close();
      throw error;
    });
    executor.activate(first);
    if (params.editing === true) executor.standbys.markEditing();
    executor.standbys.fill();
    if (params.watch) {
      executor.watcher = new ProjectWatcher((changed) => {
        for (const file of changed) executor.changedFiles.add(file);
        void executor.reload();
      }, params.log);
      executor.updateWatch(first.snapshots);
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
    this.standbys.close();
    this.active.abort();
    // A load still going (a module awaiting at its top level, for ever perhaps) is of no use now,
    // and shutdown waits for the reload: it ends, failed, and is not reported.
    this.loading?.kill();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.close();
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
      }
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const started = performance.now();
    const changed = this.changedFiles;
    this.changedFiles = new Set();
    // The tail of a save already tried (its last event came after the load had begun) needs no
    // second try; a crash, with no file changed, does.
    const snapshots = snapshotFiles(changed);
    if (changed.size > 0 && sameSnapshots(this.triedSnapshots, snapshots)) return;
    if (changed.size > 0 && !existsSync(this.request.file)) {
      // Removed (dev stops its worker for that) or moved away: nothing to load, nothing failed. After a
      // crash (nothing changed) there is no running code to keep: the load is tried, and says why it fails.
      if (this.stopsOnRemoval) this.log.debug({ file: this.request.file }, 'worker file removed: the worker is stopped');
      else this.log.warn({ file: this.request.file }, 'worker file removed: the running code stays in place until the file is back');
      this.remember(snapshots);
      return;
    }
    this.standbys.markEditing();
    const hold = this.standbys.hold();
    const next = this.standbys.take() ?? this.spawnHost();
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
      next.kill();
      hold.release();
      if (this.aborted) return;
      if (this.reloadAgain || !unchangedSince(snapshots, changed)) {
        // Saved again while this loaded (a quick fix, or the next save began and the child read
        // it half-written): the newer content is loaded next, its outcome is the one to report.
        this.log.debug({ err: error }, 'reload superseded by a newer save');
        return;
      }
      if (error instanceof HostLoadError) {
        this.failedLoadFiles = error.files;
        this.updateWatch(error.snapshots);
      }
      const { fields, message } = reloadFailureLine(error, changed, this.log.isLevelEnabled('debug'));
      this.log.error(fields, message);
      this.events.reloadFailed?.(error as Error);
      this.remember(snapshots);
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
      // at abort(), so the end of the hold starts nothing.
      next.kill();
      hold.release();
      this.gate = undefined;
      open();
      return;
    }
    next.syncDedup(this.deps.dedupSnapshot());
    this.activate(next);
    this.gate = undefined;
    open();
    hold.releaseSoon({ orOnFirstRun: true });
    startAdded?.();
    this.reloads++;
    const durationMs = performance.now() - started;
    this.log.info({ reloads: this.reloads, durationMs: Math.round(durationMs) }, 'worker code reloaded');
    this.events.reloaded?.({ reloads: this.reloads, durationMs, settings });
    this.failedLoadFiles = [];
    this.remember(snapshots);
    // With what it loaded before it took over, as a standby.
    this.updateWatch(next.snapshots);
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
      this.updateWatch(loadedAs);
    });
  }

  private loadInto(host: HostProcess): Promise<LoadedCode> {
    return host.load({
      ...this.request,
      topic: this.deps.topic,
      channel: this.deps.channel,
      publishAddresses: this.publishAddresses,
      dedup: this.deps.dedupSnapshot(),
      watched: this.watched,
    });
  }

  private remember(snapshots: ReadonlyMap<string, FileSnapshot>): void {
    for (const [file, snapshot] of snapshots) this.triedSnapshots.set(file, snapshot);
  }

  /**
   * Watches the running code's files, those of a refused load and the config file; `loadedAs`: the
   * snapshots of files a child loaded before they were watched, to compare now (file-snapshot.ts).
   */
  private updateWatch(loadedAs: ReadonlyMap<string, FileSnapshot>): void {
    if (this.watcher === undefined) return;
    const configFiles = this.request.configPath === undefined ? [] : [this.request.configPath];
    this.watched = watchableFiles([...this.active.files, ...this.failedLoadFiles, ...configFiles], this.workersDir, this.request.configPath);
    this.watcher.set(this.watched);
    this.watcher.checkLoaded(loadedAs);
  }
}
