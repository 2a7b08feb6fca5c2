/**
 * What `--watch` watches, and what it remembers of the saves it reloaded for: the files of the
 * running code, those of the last refused load and the config file; the files saved since the last
 * reload began; and each saved file as the last reload that told its outcome found it, so that the
 * tail of a save already tried is not tried again (reloading-executor.ts).
 */
import type { Logger } from 'pino';
import { ProjectWatcher, watchableFiles } from './project-watcher.ts';
import { sameSnapshots, snapshotFiles, type FileSnapshot } from './file-snapshot.ts';

/** The files a reload is for, each as it found it before loading. */
export interface Saves {
  changed: ReadonlySet<string>;
  snapshots: ReadonlyMap<string, FileSnapshot>;
}

export class CodeWatch {
  private watcher: ProjectWatcher | undefined;
  /** The files watched now: a child loading code snapshots each other file it loads. */
  private watchedNow: string[] = [];
  /**
   * The files the last refused load imported, watched beside the running code's until a load succeeds:
   * a fix may land in one only the broken code imports (a new helper), not in the running code's list.
   */
  private failedLoadFiles: readonly string[] = [];
  /** Files saved since the last reload began: a failure is blamed on the one that changed. */
  private changedFiles = new Set<string>();
  /**
   * Each file saved before a reload whose outcome was told (swapped in, or refused and said why),
   * as that reload found it before loading it: the same content again gets the same outcome.
   */
  private readonly triedSnapshots = new Map<string, FileSnapshot>();

  constructor(
    private readonly workersDir: string,
    private readonly configPath: string | undefined,
  ) {}

  /** Starts watching; `onChange` is called after each batch of changes, which {@link takeSaves} then hands out. */
  start(onChange: () => void, log: Logger): void {
    this.watcher = new ProjectWatcher((changed) => {
      for (const file of changed) this.changedFiles.add(file);
      onChange();
    }, log);
  }

  /** The files watched now. */
  get watched(): string[] {
    return this.watchedNow;
  }

  /**
   * The saves since the last call, snapshot now; undefined when every one of them is the tail of a
   * save already tried (its last event came after the load had begun). After a crash, none changed.
   */
  takeSaves(): Saves | undefined {
    const changed = this.changedFiles;
    this.changedFiles = new Set();
    const snapshots = snapshotFiles(changed);
    return changed.size > 0 && sameSnapshots(this.triedSnapshots, snapshots) ? undefined : { changed, snapshots };
  }

  /** The outcome of a reload for `saves` was told: the same content again gets the same outcome. */
  told(saves: Saves): void {
    for (const [file, snapshot] of saves.snapshots) this.triedSnapshots.set(file, snapshot);
  }

  /** A load was refused: the files it imported are watched beside the running code's until one succeeds. */
  loadFailed(files: readonly string[]): void {
    this.failedLoadFiles = files;
  }

  /** A load succeeded. */
  loaded(): void {
    this.failedLoadFiles = [];
  }

  /**
   * Watches `runningFiles` (the running code's), those of a refused load and the config file;
   * `loadedAs`: the snapshots of files a child loaded before they were watched, to compare now
   * (file-snapshot.ts).
   */
  update(runningFiles: Iterable<string>, loadedAs: ReadonlyMap<string, FileSnapshot>): void {
    if (this.watcher === undefined) return;
    const configFiles = this.configPath === undefined ? [] : [this.configPath];
    this.watchedNow = watchableFiles([...runningFiles, ...this.failedLoadFiles, ...configFiles], this.workersDir, this.configPath);
    this.watcher.set(this.watchedNow);
    this.watcher.checkLoaded(loadedAs);
  }

  close(): Promise<void> {
    return this.watcher?.close() ?? Promise.resolve();
  }
}
