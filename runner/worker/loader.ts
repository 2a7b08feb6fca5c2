/**
 * Loads a worker file — TypeScript or JavaScript, ES module or CommonJS — and reports every project
 * file its module graph loaded, which is what a watcher needs.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { WorkerFile } from './discover.ts';
import { importUserModule } from './user-code.ts';
import { failsInAnyProcess, formatLocation, locateLoadFailure } from './load-failure.ts';
import { workerRuntimeOf, type WorkerRuntime } from './worker-runtime.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

export interface LoadedWorker {
  file: WorkerFile;
  runtime: WorkerRuntime;
  /** Project files the worker's module graph loaded (not node_modules), the worker's own file first. */
  files: string[];
}

/** How long a worker's module may take to load before the runner says it is still loading, ms. */
export const SLOW_LOAD_MS = 10_000;
/** What a load that slow is asked, after the file's name. */
export const SLOW_LOAD_QUESTION = "is its module's top level waiting on something (a connection, an await)?";

/**
 * Loads and checks a worker. `fresh` reads the file from disk again though this process loaded it
 * before; `load` (user-code.ts's beginFreshLoad) reads every project file it imports again too (`dev`
 * retries a worker that failed, perhaps on a helper since fixed). Past SLOW_LOAD_MS, calls `onSlow`, by default a line
 * on stderr that the file is still loading (`dev` says it in its log): a top level waiting on a
 * connection that never answers, or under --watch on any promise (the child's channel keeps the
 * process alive), is otherwise silent.
 *
 * Errors: RunnerError E_WORKER_LOAD_FAILED when the module throws while loading (a usage error, exit 2,
 * when the code does not compile or import; exit 1 when it threw as it ran), E_WORKER_INVALID when
 * its export is not a worker.
 */
export async function loadWorker(file: WorkerFile, options: { fresh?: boolean; load?: number; onSlow?: () => void } = {}): Promise<LoadedWorker> {
  let loaded;
  const onSlow = options.onSlow ?? (() => process.stderr.write(`nsqworker: ${file.path} is still loading after ${formatDurationMs(SLOW_LOAD_MS)}: ${SLOW_LOAD_QUESTION}\n`));
  const slow = setTimeout(onSlow, SLOW_LOAD_MS).unref();
  try {
    loaded = await importUserModule(file.path, options);
  } catch (error) {
    // The file, line, column and reason, in one line: not the compiler's report and stack.
    const location = locateLoadFailure(error, { workerFile: file.path, configPath: undefined });
    // A throw as the module ran (a connection refused at import) may mend on a restart: exit 1, which
    // systemd's and supervisord's configs restart; code that does not compile or import exits 2.
    throw new RunnerError(RunnerErrorCode.WorkerLoadFailed, `${formatLocation(location)}: failed to load: ${location.reason}`, {
      cause: error,
      usage: failsInAnyProcess(error),
    });
  } finally {
    clearTimeout(slow);
  }
  return { file, runtime: workerRuntimeOf(loaded.exports, file.path), files: loaded.files };
}
