/**
 * The default mode's periodic sync — fdatasync, then the positions saved — on libuv's thread pool.
 *
 * Why: go-diskqueue syncs every `syncEvery` reads and writes and on its timer, from the diskqueue's
 * own goroutine, off the paths that serve clients. Done inline on our one event loop, the fdatasync
 * took 8–13% of the broker's time under nsq's bench_writer overflowing to disk, and all of it
 * whenever the disk was slow.
 *
 * Metadata never runs ahead of the data it points into: the positions are taken when the fdatasync
 * starts, after every buffered record was handed to the OS, and are saved (in the background too,
 * disk-queue-meta-writer.ts) only once that fdatasync succeeded. A synchronous save made meanwhile
 * (a roll, a finished read file, close, empty) supersedes the pending one, which is then dropped.
 * One sync runs at a time per queue; requests meanwhile collapse into one more after it.
 */
import type { DiskQueueLogger } from './disk-queue-logger.ts';
import type { RecordWriter } from './disk-queue-writer.ts';

export interface BackgroundSyncHost {
  /** The queue is closed: nothing more is saved. */
  isClosed(): boolean;
  /** The positions as the metadata file would hold them now (formatMetadata's text). */
  positionsText(): string;
  /** Saves `text` as the metadata, in the background. */
  saveMetadataSoon(text: string): void;
}

export class BackgroundSync {
  private running = false;
  private again = false;
  /** Bumped by every synchronous save: a background sync started before one must not save its positions. */
  private epoch = 0;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly name: string,
    private readonly writer: RecordWriter,
    private readonly log: DiskQueueLogger,
    private readonly host: BackgroundSyncHost,
  ) {}

  /** A synchronous save (or an emptying) happened: positions taken before it are stale. */
  supersede(): void {
    this.epoch++;
  }

  /** Syncs soon: now, or right after the sync in flight. A failed write or fdatasync is logged. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    this.start();
  }

  /** Resolves once no sync is in flight or asked for (its metadata save may still be). */
  settled(): Promise<void> {
    return this.idle;
  }

  private start(): void {
    const { writer, log, name } = this;
    this.running = true;
    const epoch = this.epoch;
    let text: string;
    try {
      writer.flush(); // the positions below cover only bytes the fdatasync will cover
      text = this.host.positionsText();
    } catch (err) {
      log.error({ queue: name, err }, 'disk queue write failed');
      return this.finish();
    }
    writer.syncDataInBackground((err) => {
      if (err !== null) log.error({ queue: name, err }, 'disk queue fsync failed');
      else if (epoch === this.epoch && !this.host.isClosed()) this.host.saveMetadataSoon(text);
      this.finish();
    });
  }

  private finish(): void {
    this.running = false;
    if (this.again && !this.host.isClosed()) {
      this.again = false;
      this.start();
      return;
    }
    this.again = false;
    this.markIdle();
  }
}
