import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { WorkerFile } from '../worker/discover.ts';

/** When a worker file seen empty is looked at again, in ms after it was seen: its 'change' may have come before the watch. */
export const EMPTY_FILE_LOOKS_MS = [100, 500, 2_000];

/**
 * Worker files created empty (`cat > file`, an editor's new buffer), started once they have content:
 * a load of the empty file would fail and say so. A file written before the folder's new watch was
 * up gives no 'change', so each is also looked at again a few times.
 */
export class EmptyWorkerFiles {
  private readonly waiting = new Map<string, { file: WorkerFile; timer: NodeJS.Timeout | undefined }>();

  constructor(
    private readonly start: (file: WorkerFile) => void,
    private readonly log: Logger,
  ) {}

  /** `file` was seen empty: it starts once it has content, at its 'change' ({@link changed}) or a later look. */
  wait(file: WorkerFile, look = 0): void {
    if (look === 0) this.log.debug({ file: file.path }, 'worker file seen empty: it starts (or is retried) once written');
    const delayMs = EMPTY_FILE_LOOKS_MS[look];
    const timer = delayMs === undefined ? undefined : setTimeout(() => this.startIfWritten(file) || this.wait(file, look + 1), delayMs).unref();
    this.waiting.set(file.path, { file, timer });
  }

  /** A 'change' of `file`: true if it was waiting here (then it starts if it has content now). */
  changed(file: WorkerFile): boolean {
    if (!this.waiting.has(file.path)) return false;
    this.startIfWritten(file);
    return true;
  }

  /** Starts `file` if it has content now; true if it did. */
  private startIfWritten(file: WorkerFile): boolean {
    let size = 0;
    try {
      size = statSync(file.path).size;
    } catch {
      // Gone: its 'unlink' forgets it.
    }
    if (size === 0) return false;
    this.forget(file.path);
    this.start(file);
    return true;
  }

  forget(path: string): void {
    clearTimeout(this.waiting.get(path)?.timer);
    this.waiting.delete(path);
  }
}
