import { statSync } from 'node:fs';
import type { WorkerFile } from '../worker/discover.ts';

/** When a worker file seen empty is looked at again, in ms after it was seen: its 'change' may have come before the watch. */
const EMPTY_FILE_LOOKS_MS = [100, 500, 2_000];

/**
 * Worker files created empty (`cat > file`, an editor's new buffer), started once they have content:
 * a load of the empty file would fail and say so. A file written before the folder's new watch was
 * up gives no 'change', so each is also looked at again a few times.
 */
export class EmptyWorkerFiles {
  private readonly waiting = new Map<string, { file: WorkerFile; timer: NodeJS.Timeout | undefined }>();

  constructor(private readonly start: (file: WorkerFile) => void) {}

  wait(file: WorkerFile, look = 0): void {
    const delayMs = EMPTY_FILE_LOOKS_MS[look];
    const timer = delayMs === undefined ? undefined : setTimeout(() => this.written(file) || this.wait(file, look + 1), delayMs).unref();
    this.waiting.set(file.path, { file, timer });
  }

  /** Starts `file` if it was waiting and has content now; true if it was waiting. */
  written(file: WorkerFile): boolean {
    const entry = this.waiting.get(file.path);
    if (entry === undefined) return false;
    let size = 0;
    try {
      size = statSync(file.path).size;
    } catch {
      // Gone: its 'unlink' forgets it.
    }
    if (size > 0) {
      this.forget(file.path);
      this.start(file);
    }
    return true;
  }

  forget(path: string): void {
    clearTimeout(this.waiting.get(path)?.timer);
    this.waiting.delete(path);
  }
}
