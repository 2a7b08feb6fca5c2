/**
 * What a run, `list` and `dev` say when no worker file is where they looked: the folder a typo away
 * that holds them (`worker/`, `src/workers/`), or the project folder above when a command is run in
 * a subfolder; else where they looked and how to point elsewhere.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { editDistance } from '../../protocol/suggest.ts';
import { discoverWorkers, isDirectory, soleWorkerFile } from './discover.ts';

/**
 * What to say when no worker file is found: with the folder missing, where it was looked for (the
 * usual cause is a command run outside the project's folder); else the naming rule. `command` is
 * what to run in the project above, when that is the fix.
 */
export function noWorkersFound(workersDir: string, command = 'nsqworker'): string {
  if (!isDirectory(workersDir)) {
    if (isAbsolute(workersDir)) return `no folder ${workersDir}/: name the folder of your workers with --workers-dir`;
    const near = workersFolderNear(workersDir);
    if (near !== undefined) return `no ${workersDir}/ folder in ${process.cwd()}, but ${near}/ holds worker files: ${useFolder(workersDir, near)}`;
    const project = projectAbove(workersDir);
    // Only `cd` there: --workers-dir alone would leave the project's config file and broker data behind.
    if (project !== undefined) return `no ${workersDir}/ folder in ${process.cwd()}, but ${project} has one with worker files: run ${command} there (cd ${project}), where its config file and broker data are`;
    return `no ${workersDir}/ folder in ${process.cwd()}: run nsqworker in your project's folder, or name the folder with --workers-dir`;
  }
  return `no worker files under ${workersDir}/ (expected ${workersDir}/<topic>/<topic>_<channel>_worker.ts)`;
}

/**
 * How to use the folder `near` that holds the workers: renaming it is offered only when the folder
 * looked for is the conventional workers/; one the user named with --workers-dir is the flag's typo.
 */
function useFolder(workersDir: string, near: string): string {
  return basename(workersDir) === 'workers' ? `rename it ${workersDir}/, or give --workers-dir ${near}` : `give --workers-dir ${near}`;
}

/**
 * Whether the workers are in another folder than `workersDir`: one a typo away, or the same folder
 * of a project above the current one. Then that folder is the fix, not a worker file to create.
 */
export function workersElsewhere(workersDir: string): boolean {
  return !isDirectory(workersDir) && !isAbsolute(workersDir) && (workersFolderNear(workersDir) !== undefined || projectAbove(workersDir) !== undefined);
}

/**
 * The nearest folder above the current one whose `workersDir` holds worker files (a command run in a
 * subfolder of the project), or undefined. The walk stops at a folder with a package.json: that is
 * the current project's own root (a service of a monorepo, say), and a folder above it another's.
 */
function projectAbove(workersDir: string): string | undefined {
  if (isAbsolute(workersDir)) return undefined;
  for (let folder = process.cwd(), depth = 0; depth < 8 && !existsSync(join(folder, 'package.json')) && folder !== dirname(folder); depth++) {
    folder = dirname(folder);
    const candidate = join(folder, workersDir);
    try {
      if (isDirectory(candidate) && discoverWorkers(candidate, 'skip').length > 0) return folder;
    } catch {
      // An unreadable folder on the way up is no project of the user's.
    }
  }
  return undefined;
}

/**
 * When `workersDir` is missing, a folder beside it that holds worker files, named a typo away from it
 * (`worker/`, `Workers/`) or under `src/` (`src/workers/`), as a path relative to the current folder;
 * undefined when `workersDir` is there, or no such folder is.
 */
export function workersFolderNear(workersDir: string): string | undefined {
  if (isDirectory(workersDir)) return undefined;
  return foldersNear(workersDir).find((folder) => {
    try {
      return isDirectory(folder) && discoverWorkers(folder).length > 0;
    } catch {
      return true; // Two files for one worker: worker files all the same.
    }
  });
}

/** The folders beside `workersDir` a typo away from its name (`worker/`, `Workers/`), and `src/<its name>`. */
function foldersNear(workersDir: string): string[] {
  const parent = dirname(workersDir);
  const name = basename(workersDir);
  let siblings: string[];
  try {
    siblings = readdirSync(parent);
  } catch {
    return [];
  }
  return [
    ...siblings.filter((sibling) => sibling !== name && editDistance(sibling.toLowerCase(), name.toLowerCase()) <= 2),
    ...(siblings.includes('src') ? [join('src', name)] : []),
  ].map((folder) => join(parent, folder));
}

/**
 * The worker file for `topic` and `channel` in a folder near `workersDir` ({@link foldersNear}), when
 * `workersDir` is there without it: one put in `worker/` beside a `workers/` that holds others. (With
 * no `workersDir` at all, the folder near it is the fix: {@link workersFolderNear}.)
 */
export function strayWorkerFile(workersDir: string, topic: string, channel: string): string | undefined {
  if (!isDirectory(workersDir)) return undefined;
  for (const folder of foldersNear(workersDir)) {
    try {
      const file = soleWorkerFile(folder, topic, channel);
      if (file !== undefined) return file.path;
    } catch {
      // An unreadable folder holds no worker of the user's.
    }
  }
  return undefined;
}

/**
 * What `dev` says with no worker yet: where to add one, or the folder a typo away that holds them
 * (given as a path: one given relative, or the project above, stops dev first: {@link workersElsewhere}).
 */
export function noWorkersYet(workersDir: string): string {
  const near = workersFolderNear(workersDir);
  if (near === undefined) return `no workers yet: add ${workersDir}/<topic>/<topic>_<channel>_worker.ts`;
  return `no workers yet: ${near}/ holds worker files, not ${workersDir}/: ${useFolder(workersDir, near)}`;
}
