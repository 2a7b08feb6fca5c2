/**
 * The state of a {@link DiskQueue} that is persisted — its positions, its depth and its files — and
 * the bookkeeping on that state: opening and recovering, saving metadata, fsync, moving the read
 * position, removing files. When to sync, and the operations themselves, are disk-queue.ts's.
 */
import fs from 'node:fs';
import {
  DiskQueueError,
  DiskQueueErrorCode,
  dataFileName,
  listDataFileNums,
  metaFileName,
  removeIfExists,
  writeMetadataFile,
} from './disk-queue-files.ts';
import { RecordReader } from './disk-queue-reader.ts';
import { recoverPositions, type DiskQueueLogger } from './disk-queue-recovery.ts';
import { RecordWriter } from './disk-queue-writer.ts';

export interface DiskQueueOptions {
  /** Queue name: a topic name, or `<topic>:<channel>`. Opaque here. */
  name: string;
  /** Directory holding the queue's files. */
  dataPath: string;
  /** A new data file is started when the next record would pass this size (nsqd: 104857600). */
  maxBytesPerFile: number;
  /** Smallest valid record payload, in bytes (nsqd: 26). */
  minMsgSize: number;
  /** Largest valid record payload, in bytes (nsqd: max-msg-size + 26). */
  maxMsgSize: number;
  /** fsync + metadata after this many reads+writes (nsqd: 2500); 1 makes every put durable. */
  syncEvery: number;
  /** fsync + metadata after this long when there was activity (nsqd: 2000). */
  syncTimeoutMs: number;
  logger?: DiskQueueLogger;
}

const silentLogger: DiskQueueLogger = { warn() {}, error() {} };

/** The persisted half of {@link DiskQueue}; not used on its own. */
export abstract class DiskQueueState {
  readonly name: string;
  protected readonly dataPath: string;
  protected readonly metaFile: string;
  protected readonly maxBytesPerFile: number;
  protected readonly minMsgSize: number;
  protected readonly maxMsgSize: number;
  protected readonly syncEvery: number;
  protected readonly log: DiskQueueLogger;
  protected readonly writer: RecordWriter;
  protected readonly reader: RecordReader;

  // Positions, as persisted; the write position is the writer's (buffered bytes included).
  protected depthCount: number;
  protected readFileNum: number;
  protected readPos: number;
  /** Size of the read file once it is no longer the write file; -1 while unknown. */
  protected readFileEnd = -1;

  protected opsSinceSync = 0;

  protected constructor(options: DiskQueueOptions) {
    this.name = options.name;
    this.dataPath = options.dataPath;
    this.metaFile = metaFileName(options.dataPath, options.name);
    this.maxBytesPerFile = options.maxBytesPerFile;
    this.minMsgSize = options.minMsgSize;
    this.maxMsgSize = options.maxMsgSize;
    this.syncEvery = options.syncEvery;
    this.log = options.logger ?? silentLogger;

    fs.mkdirSync(this.dataPath, { recursive: true });
    const { positions, changed } = recoverPositions({
      name: this.name,
      dataPath: this.dataPath,
      minMsgSize: this.minMsgSize,
      maxMsgSize: this.maxMsgSize,
      log: this.log,
    });
    this.depthCount = positions.depth;
    this.readFileNum = positions.readFileNum;
    this.readPos = positions.readPos;
    this.writer = new RecordWriter(this.dataPath, this.name, positions.writeFileNum, positions.writePos);
    this.reader = new RecordReader(this.dataPath, this.name, this.minMsgSize, this.maxMsgSize);
    if (changed) this.persistMetadata();
  }

  protected get writeFileNum(): number {
    return this.writer.fileNum;
  }

  protected get writePos(): number {
    return this.writer.filePos + this.writer.pendingBytes;
  }

  protected moveReadToNextFile(): void {
    this.reader.close();
    this.readFileNum++;
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

  protected sync(): void {
    this.writer.syncData();
    this.persistMetadata();
    this.opsSinceSync = 0;
  }

  protected trySync(context: string): void {
    try {
      this.sync();
    } catch (err) {
      this.log.error({ queue: this.name, err }, `disk queue ${context} failed`);
    }
  }

  /** Only called when every byte up to the write position has been handed to the OS. */
  protected persistMetadata(): void {
    writeMetadataFile(this.metaFile, {
      depth: this.depthCount,
      readFileNum: this.readFileNum,
      readPos: this.readPos,
      writeFileNum: this.writeFileNum,
      writePos: this.writePos,
    });
  }


  protected releaseFiles(): void {
    this.reader.close();
    this.reader.releaseBuffer();
    this.writer.closeFile();
    this.writer.releaseBuffer();
  }

  /** Removes data files `from..to` and any other data file of this queue a crash may have left. */
  protected removeDataFiles(from: number, to: number): void {
    for (let num = from; num <= to; num++) this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    try {
      for (const num of listDataFileNums(this.dataPath, this.name)) {
        this.removeQuietly(dataFileName(this.dataPath, this.name, num));
      }
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

export function closedError(name: string): DiskQueueError {
  return new DiskQueueError(DiskQueueErrorCode.Closed, `disk queue ${name} is closed`);
}

export function ioError(err: unknown, what: string): DiskQueueError {
  if (err instanceof DiskQueueError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DiskQueueError(DiskQueueErrorCode.Io, `${what}: ${detail}`, { cause: err });
}
