/**
 * Every process and temp folder a benchmark starts, released even when the benchmark does not get
 * to its `finally`: a thrown error that ends the run, or Ctrl-C. Each is registered when made and
 * forgotten when released in the normal way.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const processes = new Set<ChildProcess>();
const folders = new Set<string>();
let installed = false;

function releaseAll(): void {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', releaseAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      releaseAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

/** Kills `child` (SIGKILL) if the bench process exits while it runs. */
export function trackProcess(child: ChildProcess): void {
  install();
  processes.add(child);
  child.once('exit', () => processes.delete(child));
}

/** Removes `folder` if the bench process exits before the benchmark did. */
export function trackFolder(folder: string): () => void {
  install();
  folders.add(folder);
  return () => {
    folders.delete(folder);
    rmSync(folder, { recursive: true, force: true });
  };
}
