/**
 * The state of a {@link DiskQueue} that is persisted — its positions, its depth and its files — and
 * the bookkeeping on that state: opening and recovering, saving metadata, fsync, moving the read
 * position, removing files. When to sync, and the operations themselves, are disk-queue.ts's.
 */
import fs from 'node:fs';
import { dataFileName, dataFileNumsIn, fileSizeOrZero, formatMetadata, type QueuePositions, ioError, listDataFileNums, metaFileName, removeIfExists, syncDirectory } from './disk-queue-files.ts';
import { BackgroundSync } from './disk-queue-background-sync.ts';
import { MetadataWriter } from './disk-queue-meta-writer.ts';
import { RecordReader } from './disk-queue-reader.ts';
import { recoverPositions } from './disk-queue-recovery.ts';
import type { DiskQueueLogger } from './disk-queue-logger.ts';
import { RecordWriter } from './disk-queue-writer.ts';
import { AckWindow } from './disk-queue-acks.ts';
import { CommitPhase, type Committable, type GroupCommit } from './group-commit.ts';
import type { DiskQueueOptions } from './disk-queue-options.ts';
import type { PayloadCheck } from './disk-queue-resync.ts';

export { closedError, ioError } from './disk-queue-files.ts';
export type { DiskQueueOptions } from './disk-queue-options.ts';

const silentLogger: DiskQueueLogger = { warn() {}, error() {} };

/** The persisted half of {@link DiskQueue}; not used on its own. */
export abstract class DiskQueueState implements Committable {
  readonly name: string;
  protected readonly dataPath: string;
  protected readonly metaFile: string;
  protected readonly metadata: MetadataWriter;
  protected readonly maxBytesPerFile: number;
  protected readonly minMsgSize: number;
  protected readonly maxMsgSize: number;
  protected readonly syncEvery: number;
  protected readonly log: DiskQueueLogger;
  protected readonly writer: RecordWriter;
  protected readonly reader: RecordReader;
  /** The default mode's periodic fdatasync and metadata save, off the event loop. */
  private readonly background: BackgroundSync;

  // Positions, as persisted; the write position is the writer's (buffered bytes included).
  protected depthCount: number;
  protected readFileNum: number;
  protected readPos: number;
  /** Size of the read file once it is no longer the write file; -1 while unknown. */
  protected readFileEnd = -1;

  protected opsSinceSync = 0;
  protected readonly committer: GroupCommit | undefined;
  protected readonly acks: AckWindow | undefined;
  protected readonly recordCheck: PayloadCheck | undefined;
  /** Data files below this number are deleted (once the saved read position has passed them). */
  private keptFrom: number;
  /** A failed fsync: the queue takes no more writes, since what it wrote may not be on disk. */
  private broken: unknown;
  protected closed = false;
  /** Ack mode: the sequence number of the record `readNext` returned last, for `ack()`. */
  lastReadSeq = -1;

  protected constructor(options: DiskQueueOptions) {
    this.name = options.name;
    this.dataPath = options.dataPath;
    this.metaFile = metaFileName(options.dataPath, options.name);
    this.maxBytesPerFile = options.maxBytesPerFile;
    this.minMsgSize = options.minMsgSize;
    this.maxMsgSize = options.maxMsgSize;
    this.syncEvery = options.syncEvery;
    this.log = options.logger ?? silentLogger;
    this.metadata = new MetadataWriter(this.metaFile, this.name, this.log);

    fs.mkdirSync(this.dataPath, { recursive: true });
    const { positions, changed } = recoverPositions({
      name: this.name,
      dataPath: this.dataPath,
      minMsgSize: this.minMsgSize,
      maxMsgSize: this.maxMsgSize,
      log: this.log,
      check: options.recordCheck,
    });
    this.depthCount = positions.depth;
    this.readFileNum = positions.readFileNum;
    this.readPos = positions.readPos;
    this.writer = new RecordWriter(this.dataPath, this.name, positions.writeFileNum, positions.writePos);
    this.reader = new RecordReader(this.dataPath, this.name, this.minMsgSize, this.maxMsgSize);
    this.committer = options.groupCommit;
    this.recordCheck = options.recordCheck;
    if (options.ackReads === true) {
      if (this.committer === undefined) throw new Error('ackReads needs groupCommit');
      this.acks = new AckWindow({ fileNum: this.readFileNum, pos: this.readPos });
    }
    this.keptFrom = this.readFileNum;
    this.background = new BackgroundSync(this.name, this.writer, this.log, {
      isClosed: () => this.closed,
      positionsText: () => formatMetadata(this.positions()),
      saveMetadataSoon: (text) => this.metadata.save(text, true),
    });
    if (changed) this.persistMetadata();
    else if (fs.existsSync(this.metaFile)) this.metadata.saved = formatMetadata(positions);
  }

  /**
   * Ack mode: the record `seq` (from `lastReadSeq`) is finished, or durably stored elsewhere; the
   * saved read position may pass it at the next commit. Unknown or repeated numbers are ignored.
   */
  ack(seq: number): void {
    if (this.acks === undefined || this.closed || seq < 0) return;
    if (this.acks.ack(seq)) this.committer!.markDirty(this, CommitPhase.Meta);
  }

  /** Resolves once no background fdatasync or metadata save is in flight (disk-queue-background-sync.ts). */
  async metadataSettled(): Promise<void> {
    await this.background.settled();
    await this.metadata.settled();
  }

  /** Ack mode: records read and not yet acknowledged, still before the saved read position. */
  get unacknowledged(): number {
    return this.acks?.size ?? 0;
  }

  /** A group-commit phase: the data fsync, or the metadata (positions) and the files it frees. */
  commit(phase: CommitPhase): void {
    if (this.closed) return;
    if (phase === CommitPhase.Data) {
      try {
        this.writer.syncData();
        if (this.writer.openedFile) syncDirectory(this.dataPath);
        this.writer.openedFile = false;
      } catch (err) {
        this.broken = err;
        this.log.error({ queue: this.name, err }, 'disk queue fsync failed; refusing writes until restart');
        throw ioError(err, `sync disk queue ${this.name}`);
      }
      this.opsSinceSync = 0;
    } else if (phase === CommitPhase.Meta) {
      // Positions only (a failure costs duplicates, no OK waits on it); the next ack or timer retries.
      try {
        this.skipFinishedFiles();
        this.persistMetadata();
        this.removePassedFiles();
      } catch (err) {
        this.log.error({ queue: this.name, err }, 'disk queue failed to save its positions');
      }
    }
  }

  /** Group-commit mode: the record reaches the file now (a full disk throws here), the fsync later. */
  protected writeLastPut(total: number): void {
    this.flushLastPut(total);
    this.committer!.markDirty(this, CommitPhase.Data);
  }

  /** The last put's record reaches the file now, or is taken back (a failed put leaves no trace) and this throws. */
  protected flushLastPut(total: number): void {
    try {
      if (this.broken !== undefined) throw new Error('an earlier fsync failed; writes refused until restart', { cause: this.broken });
      this.writer.flush();
    } catch (err) {
      this.writer.unappend(total);
      this.depthCount--;
      this.opsSinceSync--;
      throw ioError(err, `put to disk queue ${this.name}`);
    }
  }

  /** Group-commit mode: positions saved by the next commit, after the data they depend on; false without one. */
  protected saveAtCommit(): boolean {
    if (this.committer === undefined) return false;
    this.committer.markDirty(this, CommitPhase.Meta);
    return true;
  }

  /** The timer's sync: through the commit when there is one, whose phases keep metadata behind data. */
  protected timedSync(): void {
    if (this.committer === undefined) return this.syncInBackground();
    this.committer.markDirty(this, CommitPhase.Data);
    this.committer.markDirty(this, CommitPhase.Meta);
  }

  /** Close: flush, fsync, save the positions, delete the files they passed. */
  protected finalSync(): void {
    this.committer?.forget(this);
    this.skipFinishedFiles();
    this.sync();
    this.removePassedFiles();
  }

  /** The queue was emptied: ack mode's saved position jumps with the read position. */
  protected resetAcks(): void {
    this.acks?.reset({ fileNum: this.readFileNum, pos: this.readPos });
    this.keptFrom = this.readFileNum;
  }

  private skipFinishedFiles(): void {
    const next = (num: number): number => dataFileNumsIn(this.dataPath, this.name, num + 1, this.writeFileNum)[0] ?? this.writeFileNum;
    this.acks?.skipFinishedFiles(this.writeFileNum, (num) => fileSizeOrZero(dataFileName(this.dataPath, this.name, num)), next);
  }

  /** Deletes the data files the saved read position has passed (the metadata was just saved). */
  private removePassedFiles(): void {
    const savedFileNum = this.acks?.durable.fileNum ?? this.readFileNum;
    const upTo = Math.min(savedFileNum, this.writeFileNum);
    for (const num of dataFileNumsIn(this.dataPath, this.name, this.keptFrom, upTo)) this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    this.keptFrom = Math.max(this.keptFrom, upTo);
  }

  protected get writeFileNum(): number {
    return this.writer.fileNum;
  }

  protected get writePos(): number {
    return this.writer.filePos + this.writer.pendingBytes;
  }

  protected moveReadToNextFile(next = this.readFileNum + 1): void {
    this.reader.close();
    this.readFileNum = next;
    this.readPos = 0;
    this.readFileEnd = -1;
  }

  /** At the tail, depth must be 0; records lost to corruption leave it higher (go-diskqueue). */
  protected checkTailDepth(): void {
    if (this.depthCount !== 0 && this.readFileNum === this.writeFileNum && this.readPos === this.writePos) {
      this.log.error(
        { queue: this.name, depth: this.depthCount },
        this.depthCount > 0
          ? 'disk queue positive depth at tail, data loss, resetting 0'
          : 'disk queue negative depth at tail, metadata corruption, resetting 0',
      );
      this.depthCount = 0;
    }
  }

  /** Data fsynced and the positions saved, now. */
  protected sync(): void {
    this.writer.syncData();
    this.persistMetadata();
    this.opsSinceSync = 0;
  }

  /** The periodic sync of the default mode: fdatasync, then the positions saved, both in the background. */
  protected syncInBackground(): void {
    this.opsSinceSync = 0;
    this.background.request();
  }

  protected trySync(context: string): void {
    try {
      this.sync();
    } catch (err) {
      this.log.error({ queue: this.name, err }, `disk queue ${context} failed`);
    }
  }

  /** Saves the positions now. Only called when every byte up to the write position is on disk. */
  protected persistMetadata(): void {
    this.background.supersede();
    this.metadata.save(formatMetadata(this.positions()), false); // unchanged (an idle queue): no write, no fsync
  }

  /** The positions the metadata file holds; ack mode's durable read position, whose unacknowledged records count in the depth. */
  private positions(): QueuePositions {
    const { acks, writeFileNum, writePos } = this;
    const durable = acks?.durable ?? { fileNum: this.readFileNum, pos: this.readPos };
    return { depth: this.depthCount + (acks?.size ?? 0), readFileNum: durable.fileNum, readPos: durable.pos, writeFileNum, writePos };
  }

  /** The queue was emptied or deleted: no save started before now lands. */
  protected cancelSaves(): void {
    this.background.supersede();
    this.metadata.cancel();
  }

  protected releaseFiles(): void {
    this.reader.close();
    this.reader.releaseBuffer();
    this.writer.closeFile();
    this.writer.releaseBuffer();
  }

  /** Removes every data file of this queue that the folder lists (a crash's leftovers too); none when it cannot be listed. */
  protected removeDataFiles(): void {
    try {
      for (const num of listDataFileNums(this.dataPath, this.name)) this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    } catch (err) {
      this.log.error({ queue: this.name, err }, 'disk queue failed to list its files');
    }
  }

  protected removeQuietly(file: string): void {
    try {
      removeIfExists(file);
    } catch (err) {
      this.log.error({ queue: this.name, file, err }, 'disk queue failed to remove file');
    }
  }
}
