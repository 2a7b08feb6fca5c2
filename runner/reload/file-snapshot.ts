/**
 * What a saved file held when a reload began to load it. One save is several file events, and one
 * may come after the reload has started (the editor was descheduled between two writes): the
 * snapshot tells such a late event of a save already tried from a new save, which needs a reload.
 *
 * Also what a file held as a child loaded it, for a file the runner does not watch yet: the runner
 * watches a file only once the child has told of it, and a save in between is seen only by
 * comparing the file with that snapshot ({@link LoadSnapshots}).
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

/**
 * The snapshots a child takes of the project files its code loads, each as it loads it, for the
 * runner to compare once it watches them. Only files the runner does not watch yet need one, and
 * each needs one only the first time it loads: the load's own files that the runner already
 * watches get none, and a file loaded later (a task's import()) gets one as it comes.
 */
export class LoadSnapshots {
  private readonly seen = new Set<string>();
  private taken = new Map<string, FileSnapshot>();
  private loading = true;

  /** `watched`: the files the runner watched when it asked for the load. */
  constructor(private readonly watched: ReadonlySet<string>) {}

  /** A project file the code loaded (a file required again is passed again); true if it is new. */
  loaded(file: string): boolean {
    if (this.seen.has(file)) return false;
    this.seen.add(file);
    if (!(this.loading && this.watched.has(file))) this.taken.set(file, snapshotOf(file));
    return true;
  }

  /** The snapshots taken since the last call. The first call ends the load: from then on every new file gets one. */
  take(): Map<string, FileSnapshot> {
    this.loading = false;
    const taken = this.taken;
    this.taken = new Map();
    return taken;
  }
}
