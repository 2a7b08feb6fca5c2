/**
 * Warnings for files under the workers folder that are not workers by their names
 * (discover.ts's rejectedWorkerFiles): a run says them at its start; dev at its start and for each
 * file added or changed later, once per file.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { namingRule, rejectedWorkerFiles } from '../worker/discover.ts';
import { EMPTY_FILE_LOOKS_MS } from './empty-worker-files.ts';

/**
 * The warnings, each file's once: a run calls {@link check} at its start; dev at its start and for
 * each file added or changed later. A file is judged again at each change until it is warned of:
 * one created empty (`: > file`, `cat > file`) is no worker named without its `_worker` suffix
 * until it defines one, and its 'add' comes before its content.
 */
export class MisnamedFileWarnings {
  private readonly warned = new Set<string>();

  constructor(
    private readonly workersDir: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Warns of the misnamed files not warned of yet; of `path` only, when given. A file seen `empty`
   * is looked at again a few times, as dev's empty worker files are: the 'change' of its write may
   * come too soon after its 'add' for the watcher to pass it on.
   */
  check(path?: string, empty = false): void {
    const only = path === undefined ? undefined : resolve(path);
    if (only !== undefined && this.warned.has(only)) return;
    if (empty && path !== undefined) for (const ms of EMPTY_FILE_LOOKS_MS) setTimeout(() => this.check(path), ms).unref();
    for (const rejected of rejectedWorkerFiles(this.workersDir)) {
      const absolute = resolve(rejected.path);
      if ((only !== undefined && absolute !== only) || this.warned.has(absolute)) continue;
      this.warned.add(absolute);
      this.logger.warn({ file: rejected.path }, `not a worker by its name, skipped: ${rejected.path}: ${rejected.reason}; ${namingRule(this.workersDir)}`);
    }
  }

  /** `path` was removed: should it come back misnamed, it is warned of again. */
  forget(path: string): void {
    this.warned.delete(resolve(path));
  }
}
