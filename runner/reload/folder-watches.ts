/**
 * The folder watches behind `--watch` (project-watcher.ts): one `fs.watch` per folder, each event
 * passed on by entry name. A watch follows the folder it was opened on, not its path: a folder
 * deleted and made again (`rm -rf lib && cp -r backup lib`, a branch switch) or moved away leaves
 * the watch on a folder no longer at that path, which would report the moved folder's edits under
 * the old path and never the new folder's. So a folder whose watch tells of an entry renamed (which
 * is also how a watch tells its own folder went away) is looked at again: a new folder at the path
 * is watched afresh, and one gone is looked for every {@link MISSING_FOLDER_POLL_MS} until it is
 * back. Either way its files have changed (made again, or gone), and are reported as such.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';

/** How often, in ms, a watched folder that went away is looked for; only then is a timer running. */
const MISSING_FOLDER_POLL_MS = 250;

/**
 * Which folder a path holds: its inode and device, and its birth time, since a folder made again at
 * once often gets the inode number of the one just deleted (ext4 does).
 */
interface FolderIdentity {
  ino: number;
  dev: number;
  birthtimeMs: number;
}

interface FolderWatch extends FolderIdentity {
  watcher: FSWatcher;
}

export interface FolderEvents {
  /** An entry of the folder changed (undefined: a platform that gave no name; any may have). */
  entry(dir: string, name: string | undefined): void;
  /** The folder at this path is another one now (made again, or moved back): any of its files may differ. */
  replaced(dir: string): void;
}

export class FolderWatches {
  private readonly watches = new Map<string, FolderWatch>();
  /** Wanted folders that are not there now. */
  private readonly missing = new Set<string>();
  private missingPoll: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: FolderEvents,
    private readonly log: Logger,
  ) {}

  /** Watches exactly these folders from now on; each watch is on when this returns (on Linux: see LATE_WATCH_SETTLE_MS). */
  set(folders: ReadonlySet<string>): void {
    for (const [dir, watch] of this.watches) {
      if (folders.has(dir)) continue;
      watch.watcher.close();
      this.watches.delete(dir);
    }
    for (const dir of this.missing) if (!folders.has(dir)) this.missing.delete(dir);
    for (const dir of folders) if (!this.watches.has(dir) && !this.missing.has(dir)) this.open(dir);
    this.pollWhileMissing();
  }

  close(): void {
    clearInterval(this.missingPoll);
    this.missingPoll = undefined;
    this.missing.clear();
    for (const watch of this.watches.values()) watch.watcher.close();
    this.watches.clear();
  }

  /** Opens the watch on the folder now at `dir`; true if there is one. */
  private open(dir: string): boolean {
    const stats = statOrUndefined(dir);
    if (stats === undefined) {
      this.missing.add(dir);
      return false;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (event, name) => {
        // A rename may be the folder's own (deleted or moved, a new one perhaps at the path already),
        // which leaves the watch on a folder no longer there: pass events on only from the one there.
        if (event === 'rename' && !this.stillThere(dir, watcher)) return;
        this.events.entry(dir, typeof name === 'string' && name !== '' ? name : undefined);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone between the stat and the watch: looked for again. Anything else (ENOSPC: the system's
      // inotify watches used up; EACCES) would not pass by waiting: said once, tried again at the next set().
      if (code === 'ENOENT' || code === 'ENOTDIR') this.missing.add(dir);
      else this.log.warn({ err: error, dir }, 'file watcher error: saves in this folder go unseen');
      return false;
    }
    // Node closes the watch before it tells of an error (on Windows, EPERM for a folder deleted):
    // whatever it was, the path is watched anew, or looked for.
    watcher.on('error', (error) => {
      this.log.warn({ err: error, dir }, 'file watcher error');
      this.reopen(dir, watcher);
    });
    this.watches.set(dir, { watcher, ino: stats.ino, dev: stats.dev, birthtimeMs: stats.birthtimeMs });
    return true;
  }

  /** Whether `watcher` still watches the folder at `dir`; if not, it is closed and the path watched anew or looked for. */
  private stillThere(dir: string, watcher: FSWatcher): boolean {
    const watch = this.watches.get(dir);
    if (watch?.watcher !== watcher) return false;
    const now = statOrUndefined(dir);
    if (now !== undefined && now.ino === watch.ino && now.dev === watch.dev && now.birthtimeMs === watch.birthtimeMs) return true;
    return this.reopen(dir, watcher);
  }

  /** Closes `watcher` and watches the folder now at `dir`, or looks for one; always false: the event was the old folder's. */
  private reopen(dir: string, watcher: FSWatcher): boolean {
    if (this.watches.get(dir)?.watcher !== watcher) return false;
    watcher.close();
    this.watches.delete(dir);
    const opened = this.open(dir);
    // Its files changed either way: the folder is a new one, or it went and took them.
    this.events.replaced(dir);
    if (!opened) this.pollWhileMissing();
    return false;
  }

  private pollWhileMissing(): void {
    if (this.missing.size === 0) {
      clearInterval(this.missingPoll);
      this.missingPoll = undefined;
      return;
    }
    if (this.missingPoll !== undefined) return;
    this.missingPoll = setInterval(() => {
      for (const dir of [...this.missing]) {
        this.missing.delete(dir);
        if (this.open(dir)) this.events.replaced(dir);
      }
      this.pollWhileMissing();
    }, MISSING_FOLDER_POLL_MS);
    // Waiting for a folder to come back must not keep the process alive.
    this.missingPoll.unref();
  }
}

function statOrUndefined(dir: string): FolderIdentity | undefined {
  try {
    const stats = statSync(dir);
    return stats.isDirectory() ? stats : undefined;
  } catch {
    return undefined;
  }
}

