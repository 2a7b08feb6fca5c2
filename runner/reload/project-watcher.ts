/**
 * Watches a set of files for `--watch` and calls back when one of them changes, once per batch of events.
 *
 * It watches the folders that hold the files (one level, each event filtered to the files wanted),
 * not the files themselves. A watch on a file follows one inode: an editor or tool that saves by
 * writing a new file and renaming it over the old one (vim, sed -i, many "atomic save" settings)
 * replaces the inode, and chokidar's watch of the file noticed that only if no other event for the
 * file arrived in the previous 5 ms (its per-file throttle). A write followed quickly by such a
 * rename left the watch on the deleted inode, and every later save went unnoticed. A folder's watch
 * sees every entry change by name, so a replaced file is still seen.
 *
 * The folders are watched with Node's own `fs.watch` (folder-watches.ts, which also follows a folder
 * deleted and made again, or moved), each event taken as the operating system reported it.
 * chokidar (which `nsqworker dev` uses for the workers folder) reads a watched folder again at every
 * event in it, of any file, to keep its list of entries: the project folder, which holds the config
 * file, also holds what a worker writes as it runs (a log, a file per message), and a worker
 * appending to a file 200 times a second made the runner read the folder and lstat each entry 200
 * times a second, a quarter of a core here, taken from the standby starting beside it. An event's
 * own file name is all this watcher needs.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { isProjectFile } from '../worker/own-files.ts';
import { unchangedSince, type FileSnapshot } from './file-snapshot.ts';
import { FolderWatches } from './folder-watches.ts';

/**
 * How long, in ms, the watch on a folder new to the watcher may take to start. On Linux it watches
 * once `fs.watch` returns; on macOS the FSEvents stream starts on a thread of libuv's, a little later.
 */
const LATE_WATCH_SETTLE_MS = 1000;

/**
 * How long a save may leave a file empty or missing (a truncate or a rename done, the write not
 * yet) before the reload goes ahead anyway; the reload goes ahead at the save's next event. A file
 * written by a program that truncates it, then takes its time (`gen | formatter > file`, a
 * formatter starting, a busy machine holding an editor between two calls), stayed empty past 100 ms
 * often enough that its reload failed on the empty file before the content came. An edit that
 * really empties or deletes a file is said this much later.
 */
const HALF_SAVED_WAIT_MS = 1000;

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
  // The workers folder and the config file are the project's even inside this package (its example workers).
  return files.filter((file) => (file === configPath || file.startsWith(workersRoot) ? !file.includes(`${sep}node_modules${sep}`) : isProjectFile(file)));
}

export class ProjectWatcher {
  private files = new Set<string>();
  private readonly folders: FolderWatches;
  /** The report at the end of this turn of the event loop, once an event came. */
  private reportSoon: NodeJS.Immediate | undefined;
  /** The report at the deadline of a file left half-saved. */
  private halfSavedDeadline: NodeJS.Timeout | undefined;
  /** The second look of each checkLoaded, cleared by close(). */
  private readonly lateChecks = new Set<NodeJS.Timeout>();
  private closed = false;
  private changed = new Set<string>();
  /** When the first event of the changes not yet reported came. */
  private firstEventAt = 0;

  constructor(
    /** Called with the files that changed since the last call. */
    private readonly onChange: (changed: ReadonlySet<string>) => void,
    private readonly log: Logger,
  ) {
    this.folders = new FolderWatches(
      {
        entry: (dir, name) => {
          if (name !== undefined) this.noticed(join(dir, name));
          else this.noticedFolder(dir);
        },
        replaced: (dir) => this.noticedFolder(dir),
      },
      log,
    );
  }

  /** Watches exactly these files (absolute paths) from now on; each folder's watch is on when this returns. */
  set(files: Iterable<string>): void {
    if (this.closed) return;
    const wanted = new Set(files);
    const addedFiles = [...wanted].filter((file) => !this.files.has(file));
    const removedFiles = [...this.files].filter((file) => !wanted.has(file));
    this.files = wanted;
    // Which files a save reloads: what to look at first when one does not.
    if (addedFiles.length > 0 || removedFiles.length > 0) this.log.debug({ added: addedFiles, removed: removedFiles }, 'watched files changed');
    this.folders.set(new Set([...wanted].map((file) => dirname(file))));
  }

  /** Every watched file of a folder: one that may have changed them all. */
  private noticedFolder(dir: string): void {
    for (const file of this.files) if (dirname(file) === dir) this.noticed(file);
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
    this.folders.close();
  }
}
