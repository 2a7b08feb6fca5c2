/**
 * The parent's handle on one child host: spawn, wait until warm, load the worker (again, beside the
 * running code, and swap to it), run tasks with their replies matched by sequence number, and close.
 * If the child dies, every run it held fails, so the consumer requeues those messages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { entryFile } from '../../package-paths.ts';
import type { TaskInput, TaskOutcome } from '../worker/pipeline.ts';
import { warmUpModuleOf, type ModuleSystem } from '../worker/user-code.ts';
import type { FileSnapshot } from './file-snapshot.ts';
import { optimizerOffWhileStarting } from './start-up-optimizer.ts';
import { stopGuard } from './stop-guard.ts';
import { childEnvironment } from './child-environment.ts';
import { deserializeThrown, type ChildToParent, type LoadFailureLocation, type LoadRequest, type ParentToChild } from './protocol.ts';
import { scopeAddressOf } from '../worker/dedup.ts';

const ENTRY = entryFile('runner/reload/host'); // its bundle when built, its source under tests (package-paths.ts)

/** What a child answers once the worker's code is loaded. */
export interface LoadedCode {
  taskNames: string[];
  /** The runner's settings the config file sets (validated; durations in ms), `workers` aside. */
  settings: Record<string, unknown>;
}

interface PendingRun {
  resolve(outcome: TaskOutcome): void;
  reject(thrown: unknown): void;
  input: TaskInput;
}

/** The worker's code did not load in a child (E_WORKER_LOAD_FAILED); the message holds the child's stack. */
export class HostLoadError extends RunnerError {
  override readonly name: string = 'HostLoadError';
  constructor(
    message: string,
    /** Where the worker's code failed to load, when the child could tell. */
    readonly location?: LoadFailureLocation,
    /** The files the failed load had imported by then. */
    readonly files: readonly string[] = [],
    /** The snapshots the child took of those the runner did not watch, as it loaded them. */
    readonly snapshots: ReadonlyMap<string, FileSnapshot> = new Map(),
    /** The code itself is at fault: it would fail the same in a fresh child (load-failure.ts). */
    readonly failsAnywhere = false,
  ) {
    super(RunnerErrorCode.WorkerLoadFailed, message, { usage: failsAnywhere });
  }
}

export class HostProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, PendingRun>();
  private nextSeq = 1;
  private idleWaiters: Array<() => void> = [];
  private exited = false;
  private warmed = false;
  private loads = 0;
  /** Stopped by {@link pause}. */
  private paused = false;
  /** Set once the parent asked the child to go (close or kill): an exit after that is no surprise. */
  private released = false;
  private unexpectedExitListener: ((exit: { code: number | null; signal: NodeJS.Signals | null }) => void) | undefined;
  private filesListener: ((snapshots: ReadonlyMap<string, FileSnapshot>) => void) | undefined;
  /**
   * What the child told of the files its code loaded, kept from the start: a standby's code may
   * load more before it takes over, when no listener is set yet.
   */
  private readonly loadedFiles = new Set<string>();
  private readonly loadSnapshots = new Map<string, FileSnapshot>();
  readonly warm: Promise<void>;
  private loadReply: ((message: ChildToParent) => void) | undefined;
  private closedWaiter: (() => void) | undefined;

  /**
   * `system`: the worker's module system, which of tsx's loaders the child warms up;
   * `warmUpFolder`: where the child writes the throwaway module it warms tsx up with (warmUpFolder).
   */
  constructor(system: ModuleSystem, warmUpFolder?: string) {
    // With the first child, not at the first pause, which comes as a reload loads.
    stopGuard.prepare();
    // The runner's own flags, and the optimizer off until the child is warm (start-up-optimizer.ts).
    const { execArgv, env } = optimizerOffWhileStarting(process.execArgv, childEnvironment(process.env));
    this.child = fork(ENTRY, warmUpFolder === undefined ? [system] : [system, warmUpFolder], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
    });
    this.warm = new Promise((resolve, reject) => {
      const onMessage = (message: ChildToParent): void => {
        if (message.t !== 'warm') return;
        this.child.off('message', onMessage);
        this.warmed = true;
        resolve();
      };
      this.child.on('message', onMessage);
      this.child.once('exit', () => reject(new HostLoadError('the worker host exited while starting')));
    });
    this.warm.catch(() => {});
    this.child.on('message', (message: ChildToParent) => this.onMessage(message));
    if (this.child.pid !== undefined) stopGuard.childStarted(this.child.pid);
    this.child.once('exit', (code, signal) => {
      // Stopped or not, the guard forgets it.
      stopGuard.childExited(this.child.pid!);
      this.paused = false;
      // Killed while warming up, the child left its throwaway module behind.
      if (warmUpFolder !== undefined && this.child.pid !== undefined) rmSync(warmUpModuleOf(warmUpFolder, this.child.pid, system), { force: true });
      this.onExit();
      if (!this.released) this.unexpectedExitListener?.({ code, signal });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Started up and ready to load a worker. */
  get isWarm(): boolean {
    return this.warmed && !this.exited;
  }

  /** The project files the code has loaded so far: at the load, and since (a task's import()). */
  get files(): ReadonlySet<string> {
    return this.loadedFiles;
  }

  /** The snapshots the child took, as it loaded them, of those of {@link files} its runner did not watch yet. */
  get snapshots(): ReadonlyMap<string, FileSnapshot> {
    return this.loadSnapshots;
  }

  /** After the load: the files the code loaded since (a task's import()), each with its snapshot as it loaded. */
  onFiles(listener: (snapshots: ReadonlyMap<string, FileSnapshot>) => void): void {
    this.filesListener = listener;
  }

  /** Called if the child exits without being asked to (the worker's code called process.exit, or crashed). */
  onUnexpectedExit(listener: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.unexpectedExitListener = listener;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private post(message: ParentToChild): void {
    if (!this.exited && this.child.connected) this.child.send(message);
  }

  /** How many loads of the worker's code this child began, failed ones too (past the first, beside the running code). */
  get loadsBegun(): number {
    return this.loads;
  }

  /** The code of the last {@link load} takes over from the code that ran before in this child, whose close hook runs. */
  swapLoaded(): void {
    this.post({ t: 'swap' });
  }

  /**
   * Loads the worker; resolves with its task names and the runner's settings in the config file (its
   * files: {@link files}). Into a child that has code loaded, the new code loads beside it, every
   * project file imported afresh, and takes over at {@link swapLoaded}.
   */
  async load(request: Omit<LoadRequest, 't'>): Promise<LoadedCode> {
    this.resume();
    await this.warm;
    this.loads++;
    const reply = await new Promise<ChildToParent>((resolve) => {
      this.loadReply = resolve;
      this.post({ t: 'load', ...request });
    });
    if (reply.t === 'loaded') return { taskNames: reply.taskNames, settings: reply.settings };
    if (reply.t === 'load-failed') throw new HostLoadError(reply.error.stack ?? reply.error.message, reply.location, reply.files, reply.snapshots, reply.failsAnywhere);
    throw new HostLoadError('the worker host exited while loading');
  }

  /** The {@link load} going on fails now (shutdown); what the child still loads closes with it. */
  abandonLoad(): void {
    this.loadReply?.({ t: 'closed' });
    this.loadReply = undefined;
  }

  run(task: string, input: TaskInput): Promise<TaskOutcome> {
    if (this.exited) return Promise.reject(new Error('the worker host is gone'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, input });
      this.post({ t: 'run', seq, task, id: input.id, nsqdAddress: scopeAddressOf(input.nsqdAddress), attempts: input.attempts, timestamp: input.timestamp, body: input.body });
    });
  }

  syncDedup(dedup: Record<string, string[]>): void {
    this.post({ t: 'dedup', dedup });
  }

  abort(): void {
    this.post({ t: 'abort' });
  }

  /** Resolves when no run is pending. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs the worker's close hook in the child, then lets it exit (killed if it does not within the deadline). */
  async close(deadlineMs = 5000): Promise<void> {
    this.released = true;
    if (this.exited) return;
    this.resume();
    const closed = new Promise<void>((resolve) => {
      this.closedWaiter = resolve;
      this.child.once('exit', () => resolve());
    });
    this.post({ t: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), deadlineMs);
    await closed;
    clearTimeout(timer);
  }

  kill(): void {
    this.released = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /**
   * Stops the child where it is (SIGSTOP, through stop-guard.ts, which continues it should the
   * runner die first) until {@link resume}: a standby still starting, while a reload loads on the
   * same cores (standby-pool.ts). Nothing where the guard cannot run (Windows). Killing a paused
   * child needs no resume (SIGKILL); loading into or closing one resumes it first.
   */
  pause(): void {
    if (this.paused || this.exited || this.child.pid === undefined) return;
    this.paused = stopGuard.stop(this.child.pid);
  }

  /** Lets a child paused by {@link pause} go on (SIGCONT); nothing if it is not paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    stopGuard.continue(this.child.pid!);
  }

  private onMessage(message: ChildToParent): void {
    switch (message.t) {
      case 'loaded':
      case 'load-failed': {
        if (message.t === 'loaded') this.told(message.files, message.snapshots);
        const reply = this.loadReply;
        this.loadReply = undefined;
        reply?.(message);
        return;
      }
      case 'result':
      case 'failed': {
        const run = this.pending.get(message.seq);
        if (run === undefined) return;
        this.pending.delete(message.seq);
        if (message.t === 'result') run.resolve(message.outcome);
        else run.reject(deserializeThrown(message.error));
        if (this.pending.size === 0) for (const waiter of this.idleWaiters.splice(0)) waiter();
        return;
      }
      case 'touch':
        this.pending.get(message.seq)?.input.touch();
        return;
      case 'files':
        this.told(message.snapshots.keys(), message.snapshots);
        this.filesListener?.(message.snapshots);
        return;
      case 'closed':
        this.closedWaiter?.();
        return;
      case 'warm':
        return;
    }
  }

  private told(files: Iterable<string>, snapshots: ReadonlyMap<string, FileSnapshot>): void {
    for (const file of files) this.loadedFiles.add(file);
    for (const [file, snapshot] of snapshots) this.loadSnapshots.set(file, snapshot);
  }

  private onExit(): void {
    this.exited = true;
    const gone = new Error('the worker host exited while running the task');
    for (const run of this.pending.values()) run.reject(gone);
    this.pending.clear();
    for (const waiter of this.idleWaiters.splice(0)) waiter();
    this.loadReply?.({ t: 'closed' });
    this.loadReply = undefined;
  }
}
