/**
 * One broker per data path, as nsqd's flock on the directory ensures: a lock file holding the
 * owner's pid, created exclusively. A lock left by a process that no longer runs (kill -9) is taken
 * over; one held by a live process is refused with `E_DATA_PATH_LOCKED`.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataPathLockedError extends Error {
  override readonly name = 'DataPathLockedError';
  readonly code = 'E_DATA_PATH_LOCKED';
  constructor(
    readonly dataPath: string,
    readonly ownerPid: number,
  ) {
    super(`data path ${dataPath} is in use by another broker (pid ${ownerPid})`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock; returns its release function (idempotent). */
export function lockDataPath(dataPath: string): () => void {
  const path = join(dataPath, 'nsqworker.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) throw new DataPathLockedError(dataPath, owner);
      if (owner === process.pid) throw new DataPathLockedError(dataPath, owner);
      unlinkSync(path); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock data path ${dataPath}`);
}
