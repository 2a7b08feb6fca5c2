/**
 * Loads a worker file through tsx, so users write TypeScript with no build step. Each load is a
 * fresh module graph (tsx's `tsImport`), which is what a reload needs, and it reports every file the
 * graph loaded, which is what a watcher needs.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { RunnerError, RunnerErrorCode } from './errors.ts';
import type { WorkerFile } from './discover.ts';
import { workerRuntimeOf, type WorkerRuntime } from './worker-runtime.ts';

export interface LoadedWorker {
  file: WorkerFile;
  runtime: WorkerRuntime;
  /** Project files the worker's module graph loaded (not node_modules), for watching. */
  files: string[];
}

export async function loadWorker(file: WorkerFile): Promise<LoadedWorker> {
  const files = new Set<string>([file.path]);
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = (await tsImport(pathToFileURL(file.path).href, {
      parentURL: import.meta.url,
      onImport: (url) => {
        if (!url.startsWith('file:')) return;
        const path = fileURLToPath(url.split('?')[0]!);
        if (!path.includes('/node_modules/')) files.add(path);
      },
    })) as Record<string, unknown>;
  } catch (error) {
    throw new RunnerError(RunnerErrorCode.WorkerLoadFailed, `${file.path}: failed to load: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    });
  }
  return { file, runtime: workerRuntimeOf(moduleExports, file.path), files: [...files].sort() };
}
