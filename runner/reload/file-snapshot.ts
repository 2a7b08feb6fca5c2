/**
 * What a saved file held when a reload began to load it. One save is several file events, and one
 * may come after the reload has started (the editor was descheduled between two writes): the
 * snapshot tells such a late event of a save already tried from a new save, which needs a reload.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** A file's identity, times, size and content digest; undefined for a file that does not exist. */
export type FileSnapshot = string | undefined;

function snapshotOf(file: string): FileSnapshot {
  try {
    const stats = statSync(file, { bigint: true });
    // The times in nanoseconds tell two saves of the same content apart (undo, then redo), and the
    // digest tells two saves apart where the file system keeps times in whole seconds.
    const digest = createHash('sha1').update(readFileSync(file)).digest('base64');
    return `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}:${digest}`;
  } catch {
    return undefined;
  }
}

/** Each file's snapshot as the IPC channel carries it (null for a missing file), in the order given. */
export function snapshotList(files: readonly string[]): (string | null)[] {
  return files.map((file) => snapshotOf(file) ?? null);
}

/** Whether the file is no longer as `snapshot` (from {@link snapshotList}) says. */
export function changedSince(file: string, snapshot: string | null): boolean {
  return snapshotOf(file) !== (snapshot ?? undefined);
}

/** The snapshots of these files, taken now (before the child that loads them reads them). */
export function snapshotFiles(files: Iterable<string>): Map<string, FileSnapshot> {
  return new Map([...files].map((file) => [file, snapshotOf(file)]));
}

/** True when every snapshot in `now` is the one `before` holds for that file (no file read). */
export function sameSnapshots(before: ReadonlyMap<string, FileSnapshot>, now: ReadonlyMap<string, FileSnapshot>): boolean {
  // has(): a file missing now and never tried before (deleted without a save) is a change, as in unchangedSince.
  for (const [file, snapshot] of now) if (!before.has(file) || before.get(file) !== snapshot) return false;
  return true;
}

/** True when every one of `files` has a snapshot in `loaded` and is still as that snapshot says. */
export function unchangedSince(loaded: ReadonlyMap<string, FileSnapshot>, files: Iterable<string>): boolean {
  for (const file of files) {
    if (!loaded.has(file) || loaded.get(file) !== snapshotOf(file)) return false;
  }
  return true;
}
