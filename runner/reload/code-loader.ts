/**
 * Starts the children of `--watch` and loads the worker's code into them: what every load asks
 * (the run's request, the broker's addresses, the dedup queues as they are now, the files watched).
 */
import type { ExecutorDeps } from '../ops/bind.ts';
import { moduleSystemOf, warmUpFolder, type ModuleSystem } from '../worker/user-code.ts';
import { HostProcess, type LoadedCode } from './host-process.ts';
import type { ReloadRequest } from './protocol.ts';

export class CodeLoader {
  /** Where each child writes the throwaway module it warms tsx up with. */
  private readonly warmUpFolder = warmUpFolder();
  /** Which of tsx's loaders the children warm up: the worker file's module system. */
  private readonly moduleSystem: ModuleSystem;

  constructor(
    private readonly request: ReloadRequest,
    private readonly deps: ExecutorDeps,
    private readonly publishAddresses: string[],
    /** The files watched now: a child loading code snapshots each other file it loads. */
    private readonly watched: () => string[],
  ) {
    this.moduleSystem = moduleSystemOf(request.file);
  }

  /** A new child, warming up. */
  spawn(): HostProcess {
    return new HostProcess(this.moduleSystem, this.warmUpFolder);
  }

  /**
   * The first child of a run, forked as soon as the worker file is known (run.ts): it starts (Node,
   * the package, tsx's hooks, a warm-up load) while the runner loads the worker for its options and
   * starts the broker, instead of after them. It is the child {@link CodeLoader.spawn} would make.
   */
  static spawnFirst(file: string): HostProcess {
    return new HostProcess(moduleSystemOf(file), warmUpFolder());
  }

  /** Loads the worker's code into `host` (beside its code, if it has some: HostProcess.load). */
  load(host: HostProcess): Promise<LoadedCode> {
    return host.load({
      ...this.request,
      topic: this.deps.topic,
      channel: this.deps.channel,
      publishAddresses: this.publishAddresses,
      dedup: this.deps.dedupSnapshot(),
      watched: this.watched(),
    });
  }
}
