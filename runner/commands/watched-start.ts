/**
 * Saves anywhere in the project, for what waits on one to try a failed load again: a --watch run
 * whose worker does not load at its start waits for a save and plans again (as `dev` does for each of
 * its workers) instead of exiting, and `dev` tries its failed workers again on a save of a helper
 * (workers/lib/, lib/). node_modules, dot folders (.git, the broker's default data path) and the
 * paths given are not watched.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { describeFailure } from '../cli-report.ts';
import type { WatchedLoadFailure } from '../run-plan.ts';

/** Paths under the project that no save of the worker's code is in. */
const NOT_CODE = /(^|[\\/])(node_modules|\.[^\\/]+)([\\/]|$)/;

export interface ProjectSaves {
  /** Resolves once the watch is up: a save from then on is seen. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Calls `onSave` for each file added, changed or removed under `root`, but in node_modules, dot
 * folders and `skip` (files and folders: one watched otherwise, the broker's data path).
 */
export async function watchProjectSaves(root: string, skip: readonly string[], onSave: (path: string) => void): Promise<ProjectSaves> {
  const skipped = skip.map((path) => resolve(root, path));
  const ignored = (path: string): boolean => {
    const inProject = relative(root, path);
    if (inProject.startsWith('..') || isAbsolute(inProject)) return true;
    return NOT_CODE.test(inProject) || skipped.some((folder) => path === folder || !relative(folder, path).startsWith('..'));
  };
  const { watch } = await import('chokidar');
  const watcher = watch(root, { ignoreInitial: true, ignored });
  watcher.on('all', (_event, path) => onSave(path));
  return { ready: new Promise((resolveReady) => watcher.once('ready', () => resolveReady())), close: () => watcher.close() };
}

/**
 * Says `failure` on stderr as the run's exit would have, and that the run waits; resolves true at
 * the first save under `root`, false when `stop` aborts first (SIGTERM while waiting).
 */
export async function waitForFix(failure: WatchedLoadFailure, root: string, stop: AbortSignal | undefined): Promise<boolean> {
  const { text } = describeFailure(failure.failure, { stacks: false, knownOptions: [] });
  process.stderr.write(`nsqworker: ${text}\n`);
  let saved!: (yes: boolean) => void;
  const outcome = new Promise<boolean>((resolveSaved) => (saved = resolveSaved));
  const saves = await watchProjectSaves(root, [], () => saved(true));
  try {
    // Said once a save would be seen: one made before the watch is ready may be missed.
    void saves.ready.then(() => process.stderr.write('nsqworker: --watch: waiting for a save to load the worker again (Ctrl-C to stop)\n'));
    if (stop?.aborted === true) saved(false);
    stop?.addEventListener('abort', () => saved(false), { once: true });
    return await outcome;
  } finally {
    await saves.close();
  }
}
