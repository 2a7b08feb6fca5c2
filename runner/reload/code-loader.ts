/**
 * Starts the children of `--watch` and loads the worker's code into them: what every load asks
 * (the run's request, the broker's addresses, the dedup queues as they are now, the files watched).
 */
import type { ExecutorDeps } from '../ops/bind.ts';
import { isCommonJsFile, warmUpFolder, type ModuleSystem } from '../worker/user-code.ts';
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
    this.moduleSystem = isCommonJsFile(request.file) ? 'commonjs' : 'module';
  }

  /** A new child, warming up. */
  spawn(): HostProcess {
    return new HostProcess(this.moduleSystem, this.warmUpFolder);
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
