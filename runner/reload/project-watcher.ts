/**
 * Watches a set of files for `--watch` and calls back when one of them changes, once per batch of events.
 *
 * It watches the folders that hold the files (one level, filtered to the files wanted), not the
 * files themselves. A watch on a file follows one inode: an editor or tool that saves by writing a
 * new file and renaming it over the old one (vim, sed -i, many "atomic save" settings) replaces the
 * inode, and chokidar notices that only if no other event for the file arrived in the previous 5 ms
 * (its per-file throttle). A write followed quickly by such a rename left the watch on the deleted
 * inode, and every later save went unnoticed. A folder's watch sees every entry change by name, so
 * a replaced file is still seen.
 *
 * It acts on chokidar's raw events (each one the operating system reported), not on its `change`
 * events: chokidar stats the file first, and drops a second `change` of a file within 50 ms of the
 * first with none after it, so the write that follows a truncate could go unseen and a reload read
 * the file half-saved.
 */
import { FSWatcher, watch } from 'chokidar';
import { statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { isOwnCode } from '../worker/own-files.ts';
import { unchangedSince, type FileSnapshot } from './file-snapshot.ts';

/** How long, in ms, the watch on a folder new to the watcher may take to start (chokidar gives no sign). */
const LATE_WATCH_SETTLE_MS = 1000;

/**
 * How long a save may leave a file empty or missing (a truncate or a rename done, the write not
 * yet) before the reload goes ahead anyway: a busy machine can hold an editor that long between
 * two calls, and a reload that reads the file then spends a standby on nothing. An edit that
 * really empties or deletes a file waits this long too.
 */
const HALF_SAVED_WAIT_MS = 100;

/** Empty or missing: what a file looks like between the two halves of a save. */
function looksHalfSaved(file: string): boolean {
  try {
    return statSync(file).size === 0;
  } catch {
    return true;
  }
}

/** Files worth watching: the project's own, not dependencies nor nsqworker's own sources. */
export function watchableFiles(files: readonly string[], workersDir: string, configPath: string | undefined): string[] {
  const workersRoot = resolve(workersDir) + sep;
  return files.filter((file) => {
    if (file.includes(`${sep}node_modules${sep}`)) return false;
    if (file === configPath || file.startsWith(workersRoot)) return true;
    return !isOwnCode(file);
  });
}

export class ProjectWatcher {
  private readonly watcher: FSWatcher;
  private files = new Set<string>();
  private dirs = new Set<string>();
  /** The report at the end of this turn of the event loop, once an event came. */
  private reportSoon: NodeJS.Immediate | undefined;
  /** The report at the deadline of a file left half-saved. */
  private halfSavedDeadline: NodeJS.Timeout | undefined;
  /** The second look of each checkLoaded, cleared by close(). */
  private readonly lateChecks = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly initialScan: Promise<void>;
  private changed = new Set<string>();
  /** When the first event of the changes not yet reported came. */
  private firstEventAt = 0;

  constructor(
    /** Called with the files that changed since the last call. */
    private readonly onChange: (changed: ReadonlySet<string>) => void,
    private readonly log: Logger,
  ) {
    this.watcher = watch([], {
      ignoreInitial: true,
      depth: 0,
      // Only the wanted files and their folders: the rest of a folder is neither stat'ed nor watched.
      ignored: (path) => !(this.files.has(path) || this.dirs.has(path)),
    });
    // A folder's watch names the entry; a file's watch (chokidar adds one too) names the file itself.
    // chokidar's own events come from these same ones, later: listening to them as well would only
    // add late duplicates, each a second reload of the same save.
    this.watcher.on('raw', (_event, name, details) => {
      const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (typeof watched !== 'string') return;
      if (this.files.has(watched)) this.noticed(watched);
      else if (typeof name === 'string' && name !== '' && this.dirs.has(watched)) this.noticed(join(watched, name));
    });
    this.watcher.on('error', (error) => log.warn({ err: error }, 'file watcher error'));
    this.initialScan = new Promise((resolve) => this.watcher.once('ready', () => resolve()));
  }

  /**
   * Resolves once the first set of files is being watched: a save before that would go unseen, so
   * the worker is reported running only after it (bounded, in case the scan never reports back).
   */
  ready(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    return Promise.race([this.initialScan, timeout]).finally(() => clearTimeout(timer));
  }

  /** Watches exactly these files (absolute paths) from now on. */
  set(files: Iterable<string>): void {
    if (this.closed) return;
    const wanted = new Set(files);
    const wantedDirs = new Set([...wanted].map((file) => dirname(file)));
    const addedFiles = [...wanted].filter((file) => !this.files.has(file));
    const removedFiles = [...this.files].filter((file) => !wanted.has(file));
    const addedDirs = [...wantedDirs].filter((dir) => !this.dirs.has(dir));
    const removedDirs = [...this.dirs].filter((dir) => !wantedDirs.has(dir));
    this.files = wanted;
    this.dirs = wantedDirs;
    // Which files a save reloads: what to look at first when one does not.
    if (addedFiles.length > 0 || removedFiles.length > 0) this.log.debug({ added: addedFiles, removed: removedFiles }, 'watched files changed');
    if (removedFiles.length > 0 || removedDirs.length > 0) this.watcher.unwatch([...removedFiles, ...removedDirs]);
    // A file new to a folder already watched was ignored when the folder was read: add it by name.
    if (addedFiles.length > 0 || addedDirs.length > 0) this.watcher.add([...addedDirs, ...addedFiles]);
  }

  /**
   * A file new to the watch (one a task loaded late with `import()`, or new code loaded) is watched
   * only once the child has told of it, and the watch on a new folder takes a while to start: a
   * save in between would go unseen, and the code keep running the old content. So each such file
   * is compared with the snapshot the child took as it loaded it, now and once the watch has had
   * {@link LATE_WATCH_SETTLE_MS} to start; one changed since counts as an event (a save that the
   * watch also saw is not loaded twice: reloading-executor.ts tells a save already tried from a
   * new one). Only these files: the others were watched when the child loaded them.
   */
  checkLoaded(snapshots: ReadonlyMap<string, FileSnapshot>): void {
    if (snapshots.size === 0) return;
    const check = (): void => {
      if (this.closed) return;
      for (const file of snapshots.keys()) if (this.files.has(file) && !unchangedSince(snapshots, [file])) this.noticed(file);
    };
    check();
    const recheck = setTimeout(() => {
      this.lateChecks.delete(recheck);
      check();
    }, LATE_WATCH_SETTLE_MS);
    recheck.unref();
    this.lateChecks.add(recheck);
  }

  private noticed(path: string): void {
    if (!this.files.has(path)) return;
    if (this.changed.size === 0) this.firstEventAt = performance.now();
    this.changed.add(path);
    this.schedule();
  }

  /**
   * Reports once this turn of the event loop has taken every event the OS has already told of: one
   * save is several events (truncate and write, or write and rename), and those that came together
   * make one reload. No fixed quiet time: this is the path from the save to the new code. An event
   * of the same save that comes later (the editor descheduled between two calls) makes a second
   * reload only if the file changed since the first began to load (file-snapshot.ts), and a load
   * that read it half-written gives way to the newer content (reloading-executor.ts).
   */
  private schedule(): void {
    clearTimeout(this.halfSavedDeadline);
    this.halfSavedDeadline = undefined;
    this.reportSoon ??= setImmediate(() => {
      this.reportSoon = undefined;
      this.report();
    });
  }

  private report(): void {
    if (this.closed) return;
    const waited = performance.now() - this.firstEventAt;
    if (waited < HALF_SAVED_WAIT_MS && [...this.changed].some(looksHalfSaved)) {
      // The save's next event reschedules as usual; without one, go ahead at the deadline.
      this.halfSavedDeadline = setTimeout(() => this.report(), HALF_SAVED_WAIT_MS - waited);
      return;
    }
    const changed = this.changed;
    this.changed = new Set();
    this.onChange(changed);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearImmediate(this.reportSoon);
    clearTimeout(this.halfSavedDeadline);
    for (const recheck of this.lateChecks) clearTimeout(recheck);
    await this.watcher.close();
  }
}
