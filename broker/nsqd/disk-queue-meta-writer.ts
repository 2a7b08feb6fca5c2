/**
 * Saves a disk queue's metadata file the go-diskqueue way (a temporary file, fsync, rename; see
 * disk-queue-files.ts), either now or in the background.
 *
 * Why the background: the default mode saves positions every `syncEvery` reads and writes
 * (go-diskqueue's policy), and nsqd does that from the diskqueue's own goroutine, off the paths
 * that serve clients. Done inline on our one event loop, creating and fsyncing the temporary file
 * took about a sixth of a consumer's throughput. So the file is created, written and fsynced on
 * libuv's thread pool; only the rename runs on the event loop, which orders every rename of the
 * file with the synchronous saves (close, file rolls): a background save that a later save
 * overtook is dropped, never renamed over the newer positions. At most one background save is in
 * flight; requests meanwhile collapse into the latest positions.
 *
 * Background saves start at most every MIN_SAVE_INTERVAL_MS. The periodic sync asks for one after
 * each fdatasync, as fast as the disk completes them while records stream in (every 2,500 writes),
 * and creating, fsyncing and renaming a file each time cost more than the data's own fdatasyncs:
 * under nsq's bench_writer past --mem-queue-size, the broker published 20 to 30% more without them.
 * Positions that lag by that much lose nothing: the data is fdatasynced as before, recovery adopts
 * whole records written past the saved write position (disk-queue-recovery.ts), and a read position
 * that lags redelivers what was read meanwhile (at least once, as after any crash).
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { metadataTmpName, writeMetadataFile } from './disk-queue-files.ts';
import type { DiskQueueLogger } from './disk-queue-logger.ts';

/** The least time between the starts of two background saves, ms. */
const MIN_SAVE_INTERVAL_MS = 100;

export class MetadataWriter {
  /** What the file holds, or will once the save in flight lands ('' when unknown or absent). */
  saved = '';
  /** Bumped by every synchronous save and by cancel(): a background save of an older one is stale. */
  private generation = 0;
  private saving = false;
  private inFlight: Promise<void> = Promise.resolve();
  private next: string | undefined;
  /** When the last background save started (performance.now(), ms). */
  private lastStartMs = -Infinity;

  constructor(
    private readonly file: string,
    private readonly queue: string,
    private readonly log: DiskQueueLogger,
  ) {}

  /**
   * Saves `text` (formatMetadata's), unless the file already holds it: before returning (superseding
   * a background save in flight; throws the system error), or with `soon` in the background.
   */
  save(text: string, soon: boolean): void {
    // `saved` counts a background save still waiting or running: a synchronous save (close) must
    // not be skipped for it, or a process that exits at once leaves the older positions behind.
    if (text === this.saved && (soon || !this.saving)) return;
    if (soon) {
      this.saveSoon(text);
    } else {
      this.cancel();
      writeMetadataFile(this.file, text);
    }
    this.saved = text;
  }

  private saveSoon(text: string): void {
    if (this.saving) {
      this.next = text;
      return;
    }
    this.saving = true;
    this.inFlight = this.saveInBackground(text);
  }

  /** Resolves once no background save is in flight (the file holds `saved`, or a save failed). */
  async settled(): Promise<void> {
    while (this.saving) await this.inFlight;
  }

  /** Drops background saves not yet renamed (the queue was emptied or deleted, or saves now). */
  cancel(): void {
    this.generation++;
    this.next = undefined;
    this.saved = '';
  }

  private async saveInBackground(requested: string): Promise<void> {
    const generation = this.generation;
    let text = requested;
    // A loop: a timer counts from the event loop's cached time, which can be a few milliseconds
    // old when it is set, so it may fire before the interval has passed by performance.now().
    const remainingMs = (): number => this.lastStartMs + MIN_SAVE_INTERVAL_MS - performance.now();
    for (let waitMs = remainingMs(); waitMs > 0; waitMs = remainingMs()) {
      await sleep(waitMs, undefined, { ref: false });
      if (generation !== this.generation) {
        // A synchronous save or cancel came meanwhile: this request is stale; one made since goes on.
        this.saving = false;
        const pending = this.next;
        this.next = undefined;
        if (pending !== undefined) this.saveSoon(pending);
        return;
      }
      // The latest positions asked for while waiting.
      text = this.next ?? text;
      this.next = undefined;
    }
    this.lastStartMs = performance.now();
    const tmp = metadataTmpName(this.file);
    try {
      const handle = await fs.promises.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'latin1');
        await handle.sync();
      } finally {
        await handle.close();
      }
      // No await between this check and the rename: nothing else can rename the file in between.
      if (generation === this.generation) fs.renameSync(tmp, this.file);
      else await fs.promises.rm(tmp, { force: true });
    } catch (err) {
      await fs.promises.rm(tmp, { force: true }).catch(() => {});
      if (generation === this.generation) {
        this.saved = ''; // not on disk: the next save must not be skipped as unchanged
        this.log.error({ queue: this.queue, err }, 'disk queue failed to save its positions');
      }
    }
    this.saving = false;
    const next = this.next;
    this.next = undefined;
    if (next !== undefined) this.saveSoon(next);
  }
}
