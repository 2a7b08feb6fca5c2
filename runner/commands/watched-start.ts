/**
 * A --watch run whose worker does not load at its start (a syntax error, a throw at import, an
 * export that is no worker) waits for a save and plans again, as `dev` does for each of its
 * workers, instead of exiting: the error is said in its one line, then that the run waits. A file
 * added, changed or removed anywhere in the project (node_modules and dot folders aside: .git, the
 * broker's default data path) tries again; the project's code is then read afresh.
 */
import { relative } from 'node:path';
import { describeFailure } from '../cli-report.ts';
import type { WatchedLoadFailure } from '../run-plan.ts';

/** Paths under the project that no save of the worker's code is in. */
const NOT_CODE = /(^|[\\/])(node_modules|\.[^\\/]+)([\\/]|$)/;

/**
 * Says `failure` on stderr as the run's exit would have, and that the run waits; resolves true at
 * the first file written under `root`, false when `stop` aborts first (SIGTERM while waiting).
 */
export async function waitForFix(failure: WatchedLoadFailure, root: string, stop: AbortSignal | undefined): Promise<boolean> {
  const { text } = describeFailure(failure.failure, { stacks: false, knownOptions: [] });
  process.stderr.write(`nsqworker: ${text}\n`);
  const { watch } = await import('chokidar');
  const watcher = watch(root, { ignoreInitial: true, ignored: (path: string) => NOT_CODE.test(relative(root, path)) });
  try {
    return await new Promise<boolean>((resolveSaved) => {
      watcher.on('all', () => resolveSaved(true));
      // Said once a save would be seen: one made before the watch is ready may be missed.
      watcher.once('ready', () => process.stderr.write('nsqworker: --watch: waiting for a save to load the worker again (Ctrl-C to stop)\n'));
      if (stop?.aborted === true) resolveSaved(false);
      stop?.addEventListener('abort', () => resolveSaved(false), { once: true });
    });
  } finally {
    await watcher.close();
  }
}
