/**
 * A disk-backed FIFO of message payloads, file-compatible with go-diskqueue v1.1.0 (the layout
 * is described in disk-queue-files.ts).
 *
 * Everything is synchronous and runs on the broker's event loop, batched so that the hot path
 * stays cheap:
 * - `put` appends into a write buffer that reaches the file in one `writeSync` when it is full
 *   or at the end of the tick (one `setImmediate` per batch);
 * - `readNext` reads the file ahead in large blocks and copies records out of them; records not
 *   yet written are served straight from the write buffer;
 * - fsync + metadata follow go-diskqueue's policy: every `syncEvery` reads+writes, on a timer
 *   when there was activity, on roll, when a read file is finished, and on close.
 *   `syncEvery <= 1` makes every `put` durable before it returns.
 */
import fs from 'node:fs';
import {
  DiskQueueError,
  DiskQueueErrorCode,
  dataFileName,
  listDataFileNums,
  listMetadataTmpFiles,
  metaFileName,
  readFully,
  removeIfExists,
  writeFully,
  writeMetadataFile,
} from './disk-queue-files.ts';
import { recoverPositions, type DiskQueueLogger } from './disk-queue-recovery.ts';

export { DiskQueueError, DiskQueueErrorCode } from './disk-queue-files.ts';
export type { DiskQueueLogger } from './disk-queue-recovery.ts';

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

/** Records up to this size are batched in the write buffer; larger ones are written directly. */
const WRITE_BUFFER_SIZE = 256 * 1024;
/** Read-ahead block size. */
const READ_BLOCK_SIZE = 1024 * 1024;
const WRITE_FILE_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;

const silentLogger: DiskQueueLogger = { warn() {}, error() {} };

export class DiskQueue {
  readonly name: string;
  private readonly dataPath: string;
  private readonly metaFile: string;
  private readonly maxBytesPerFile: number;
  private readonly minMsgSize: number;
  private readonly maxMsgSize: number;
  private readonly syncEvery: number;
  private readonly log: DiskQueueLogger;

  // Positions, as persisted. writePos counts bytes still in the write buffer.
  private depthCount: number;
  private readFileNum: number;
  private readPos: number;
  private writeFileNum: number;
  private writePos: number;

  // Write side. Invariant: writePos === fileWrittenPos + writeBufLen, and both positions are
  // record boundaries (a flush either writes the whole buffer or changes nothing).
  private writeFd = -1;
  private writeBuf: Buffer | null = null;
  private writeBufLen = 0;
  private fileWrittenPos: number;
  private unsyncedWrites = false;
  private flushScheduled = false;
  private flushImmediate: NodeJS.Immediate | undefined;
  private readonly header = Buffer.allocUnsafe(4);

  // Read side: an fd on the read file and a block of it read ahead.
  private readFd = -1;
  private readFdFileNum = -1;
  /** Size of the read file once it is no longer the write file; -1 while unknown. */
  private readFileEnd = -1;
  private block: Buffer | null = null;
  private blockFileNum = -1;
  private blockPos = 0;
  private blockLen = 0;

  private opsSinceSync = 0;
  private closed = false;
  private readonly syncTimer: NodeJS.Timeout;

  private constructor(options: DiskQueueOptions) {
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
    this.writeFileNum = positions.writeFileNum;
    this.writePos = positions.writePos;
    this.fileWrittenPos = positions.writePos;
    if (changed) this.persistMetadata();

    this.syncTimer = setInterval(this.onSyncTimer, Math.max(1, options.syncTimeoutMs));
    this.syncTimer.unref();
  }

  /** Opens (creating or recovering) the queue. Synchronous. */
  static open(options: DiskQueueOptions): DiskQueue {
    return new DiskQueue(options);
  }

  /** Records written and not yet read. */
  get depth(): number {
    return this.depthCount;
  }

  /**
   * Appends a record. Throws a {@link DiskQueueError} when the payload size is out of range, the
   * queue is closed, or (in durable mode, or when the write buffer is full) the disk write fails.
   */
  put(payload: Buffer): void {
    if (this.closed) throw closedError(this.name);
    const length = payload.length;
    if (length < this.minMsgSize || length > this.maxMsgSize) {
      throw new DiskQueueError(
        DiskQueueErrorCode.InvalidMessageSize,
        `invalid message write size (${length}) minMsgSize=${this.minMsgSize} maxMsgSize=${this.maxMsgSize}`,
      );
    }
    const total = 4 + length;
    try {
      if (this.writePos > 0 && this.writePos + total > this.maxBytesPerFile) this.rollWriteFile();
      if (total > WRITE_BUFFER_SIZE) {
        this.flushWriteBuffer();
        this.writeRecordDirect(payload);
      } else {
        if (this.writeBufLen + total > WRITE_BUFFER_SIZE) this.flushWriteBuffer();
        const buf = (this.writeBuf ??= Buffer.allocUnsafeSlow(WRITE_BUFFER_SIZE));
        buf.writeInt32BE(length, this.writeBufLen);
        buf.set(payload, this.writeBufLen + 4);
        this.writeBufLen += total;
      }
    } catch (err) {
      throw ioError(err, `put to disk queue ${this.name}`);
    }
    this.writePos += total;
    this.depthCount++;
    this.opsSinceSync++;

    if (this.syncEvery <= 1) {
      this.makeLastPutDurable(total);
    } else if (this.opsSinceSync >= this.syncEvery) {
      this.trySync('sync after syncEvery operations');
    } else if (!this.flushScheduled && this.writeBufLen > 0) {
      this.flushScheduled = true;
      this.flushImmediate = setImmediate(this.onFlushImmediate);
    }
  }

  /** The next record, or undefined when empty. The returned buffer belongs to the caller. */
  readNext(): Buffer | undefined {
    if (this.closed) throw closedError(this.name);
    try {
      for (;;) {
        if (this.readFileNum === this.writeFileNum) {
          if (this.readPos >= this.writePos) return undefined;
          if (this.readPos >= this.fileWrittenPos) return this.takeFromWriteBuffer();
          const record = this.takeFromFile(this.fileWrittenPos);
          if (record !== undefined) return record;
        } else {
          if (this.readFdFileNum !== this.readFileNum && !this.openReadFile()) continue;
          if (this.readFileEnd < 0) this.readFileEnd = fs.fstatSync(this.readFd).size;
          if (this.readPos >= this.readFileEnd) {
            this.finishReadFile();
            continue;
          }
          const record = this.takeFromFile(this.readFileEnd);
          if (record !== undefined) return record;
        }
      }
    } catch (err) {
      throw ioError(err, `read from disk queue ${this.name}`);
    }
  }

  /** Drops everything: deletes the data files and the metadata file; depth becomes 0. */
  empty(): void {
    if (this.closed) throw closedError(this.name);
    this.writeBufLen = 0;
    this.closeReadFile();
    this.closeWriteFile();
    const last = this.writeFileNum;
    for (let num = this.readFileNum; num <= last; num++) this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    for (const num of listDataFileNums(this.dataPath, this.name)) {
      this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    }
    this.writeFileNum = last + 1;
    this.writePos = 0;
    this.fileWrittenPos = 0;
    this.readFileNum = this.writeFileNum;
    this.readPos = 0;
    this.depthCount = 0;
    this.opsSinceSync = 0;
    this.unsyncedWrites = false;
    this.removeQuietly(this.metaFile);
  }

  /** Flushes, fsyncs, saves the metadata, closes the files and stops the timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.stop();
    let failure: unknown;
    try {
      this.sync();
    } catch (err) {
      failure = err;
    }
    this.closeReadFile();
    this.closeWriteFile();
    this.releaseBuffers();
    if (failure !== undefined) throw ioError(failure, `close disk queue ${this.name}`);
  }

  /** Closes the queue without saving and removes every data and metadata file it has. */
  deleteFiles(): void {
    this.stop();
    this.writeBufLen = 0;
    this.closeReadFile();
    this.closeWriteFile();
    this.releaseBuffers();
    for (let num = this.readFileNum; num <= this.writeFileNum; num++) {
      this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    }
    for (const num of listDataFileNums(this.dataPath, this.name)) {
      this.removeQuietly(dataFileName(this.dataPath, this.name, num));
    }
    this.removeQuietly(this.metaFile);
    for (const tmp of listMetadataTmpFiles(this.dataPath, this.name)) this.removeQuietly(tmp);
  }

  // ---- write side ----

  /** Durable mode: the record is in the file, fsynced, and the metadata saved, or put throws. */
  private makeLastPutDurable(total: number): void {
    try {
      this.flushWriteBuffer();
    } catch (err) {
      // Not written: take it back so that a failed put leaves no trace.
      this.writeBufLen -= total;
      this.writePos -= total;
      this.depthCount--;
      this.opsSinceSync--;
      throw ioError(err, `put to disk queue ${this.name}`);
    }
    try {
      this.sync();
    } catch (err) {
      throw ioError(err, `sync disk queue ${this.name}`);
    }
  }

  private flushWriteBuffer(): void {
    const length = this.writeBufLen;
    if (length === 0 || this.writeBuf === null) return;
    if (this.writeFd < 0) this.openWriteFile();
    // Positional writes: after a failure, the retry overwrites whatever part did reach the file.
    writeFully(this.writeFd, this.writeBuf, 0, length, this.fileWrittenPos);
    this.fileWrittenPos += length;
    this.writeBufLen = 0;
    this.unsyncedWrites = true;
  }

  /** A record larger than the write buffer goes straight to the file (the buffer is empty). */
  private writeRecordDirect(payload: Buffer): void {
    if (this.writeFd < 0) this.openWriteFile();
    this.header.writeInt32BE(payload.length, 0);
    writeFully(this.writeFd, this.header, 0, 4, this.fileWrittenPos);
    writeFully(this.writeFd, payload, 0, payload.length, this.fileWrittenPos + 4);
    this.fileWrittenPos += 4 + payload.length;
    this.unsyncedWrites = true;
  }

  private openWriteFile(): void {
    this.writeFd = fs.openSync(dataFileName(this.dataPath, this.name, this.writeFileNum), WRITE_FILE_FLAGS, 0o600);
  }

  private closeWriteFile(): void {
    if (this.writeFd >= 0) {
      fs.closeSync(this.writeFd);
      this.writeFd = -1;
    }
  }

  /** Finishes the write file (flushed, cut to size, fsynced) and moves writing to the next one. */
  private rollWriteFile(): void {
    this.flushWriteBuffer();
    const finishedSize = this.writePos;
    if (this.writeFd >= 0) {
      // Readers take a finished file's size as its end: drop any bytes of an earlier failed write.
      fs.ftruncateSync(this.writeFd, finishedSize);
      fs.fdatasyncSync(this.writeFd);
      this.closeWriteFile();
    }
    this.unsyncedWrites = false;
    if (this.readFileNum === this.writeFileNum) this.readFileEnd = finishedSize;
    this.writeFileNum++;
    this.writePos = 0;
    this.fileWrittenPos = 0;

    let drainedFileNum = -1;
    if (this.readFileNum === this.writeFileNum - 1 && this.readPos >= finishedSize) {
      // The reader had consumed the whole file: move it along now rather than leave a
      // position at the end of a finished file in the metadata.
      drainedFileNum = this.readFileNum;
      this.moveReadToNextFile();
    }
    this.opsSinceSync = 0;
    try {
      this.persistMetadata();
    } catch (err) {
      this.log.error({ queue: this.name, err }, 'disk queue failed to save metadata on roll');
    }
    if (drainedFileNum >= 0) this.removeQuietly(dataFileName(this.dataPath, this.name, drainedFileNum));
  }

  // ---- read side ----

  private takeFromWriteBuffer(): Buffer {
    const buf = this.writeBuf as Buffer;
    const at = this.readPos - this.fileWrittenPos;
    const length = buf.readInt32BE(at);
    const out = Buffer.allocUnsafe(length);
    buf.copy(out, 0, at + 4, at + 4 + length);
    this.advanceRead(4 + length);
    return out;
  }

  /**
   * Takes the record at readPos from the file, whose readable bytes end at `limit`. Returns
   * undefined when the file turned out bad (it has then been skipped).
   */
  private takeFromFile(limit: number): Buffer | undefined {
    if (this.readFdFileNum !== this.readFileNum && !this.openReadFile()) return undefined;
    let avail =
      this.blockFileNum === this.readFileNum && this.readPos >= this.blockPos
        ? this.blockPos + this.blockLen - this.readPos
        : 0;
    if (avail < 4) avail = this.fillBlock(limit);
    if (avail < 4) return this.skipBadFile('truncated record header', avail);
    let block = this.block as Buffer;
    let at = this.readPos - this.blockPos;
    const length = block.readInt32BE(at);
    if (length < this.minMsgSize || length > this.maxMsgSize) {
      return this.skipBadFile(`invalid message read size (${length})`, length);
    }
    const total = 4 + length;
    if (this.readPos + total > limit) return this.skipBadFile('record runs past the end of the file', length);

    const out = Buffer.allocUnsafe(length);
    if (avail >= total) {
      block.copy(out, 0, at + 4, at + total);
    } else if (total <= block.length) {
      avail = this.fillBlock(limit);
      if (avail < total) return this.skipBadFile('short read', length);
      block = this.block as Buffer;
      at = 0;
      block.copy(out, 0, 4, total);
    } else {
      // Larger than a block: take what the block has, read the rest straight into the record.
      const have = avail - 4;
      block.copy(out, 0, at + 4, at + avail);
      if (readFully(this.readFd, out, have, length - have, this.readPos + avail) < length - have) {
        return this.skipBadFile('short read', length);
      }
    }
    this.advanceRead(total);
    return out;
  }

  /** Reads the block at readPos, up to `limit`; returns the bytes available there. */
  private fillBlock(limit: number): number {
    const block = (this.block ??= Buffer.allocUnsafeSlow(READ_BLOCK_SIZE));
    const want = Math.min(block.length, limit - this.readPos);
    this.blockLen = want > 0 ? readFully(this.readFd, block, 0, want, this.readPos) : 0;
    this.blockPos = this.readPos;
    this.blockFileNum = this.readFileNum;
    return this.blockLen;
  }

  private advanceRead(total: number): void {
    this.readPos += total;
    this.depthCount--;
    this.opsSinceSync++;
    if (this.readFileNum < this.writeFileNum) {
      if (this.readFileEnd >= 0 && this.readPos >= this.readFileEnd) this.finishReadFile();
    } else {
      this.checkTailDepth();
    }
    if (this.opsSinceSync >= this.syncEvery) this.trySync('sync after syncEvery operations');
  }

  /** Opens the read file; false when it is missing (it has then been skipped). */
  private openReadFile(): boolean {
    this.closeReadFile();
    const file = dataFileName(this.dataPath, this.name, this.readFileNum);
    try {
      this.readFd = fs.openSync(file, 'r');
    } catch (err) {
      this.skipBadFile(`cannot open: ${(err as Error).message}`, 0);
      return false;
    }
    this.readFdFileNum = this.readFileNum;
    this.readFileEnd = -1;
    return true;
  }

  private closeReadFile(): void {
    if (this.readFd >= 0) {
      fs.closeSync(this.readFd);
      this.readFd = -1;
    }
    this.readFdFileNum = -1;
    this.readFileEnd = -1;
    this.blockFileNum = -1;
  }

  private moveReadToNextFile(): void {
    this.closeReadFile();
    this.readFileNum++;
    this.readPos = 0;
  }

  /** A finished file has been read to its end: save the positions, then delete it. */
  private finishReadFile(): void {
    const finished = this.readFileNum;
    this.moveReadToNextFile();
    this.checkTailDepth();
    this.trySync('sync after finishing a read file');
    this.removeQuietly(dataFileName(this.dataPath, this.name, finished));
  }

  /**
   * The record at readPos cannot be trusted, and nothing after it in this file can be either:
   * keep the file as `<file>.bad` and go on with the next one (go-diskqueue's handleReadError).
   */
  private skipBadFile(reason: string, length: number): undefined {
    const file = dataFileName(this.dataPath, this.name, this.readFileNum);
    this.log.error(
      { queue: this.name, file, readPos: this.readPos, length, reason },
      'disk queue read error; skipping the rest of the file',
    );
    this.closeReadFile();
    if (this.readFileNum === this.writeFileNum) {
      // Writing moves on too. The write buffer holds whole records not yet in the bad file:
      // they become the start of the new write file.
      this.closeWriteFile();
      this.writeFileNum++;
      this.fileWrittenPos = 0;
      this.writePos = this.writeBufLen;
    }
    const badFile = `${file}.bad`;
    this.log.warn({ queue: this.name, file: badFile }, 'disk queue jumping to the next file and saving the bad file');
    try {
      fs.renameSync(file, badFile);
    } catch (err) {
      this.log.error({ queue: this.name, file, err }, 'disk queue failed to rename bad file');
    }
    this.readFileNum++;
    this.readPos = 0;
    this.checkTailDepth();
    this.trySync('sync after skipping a bad file');
    return undefined;
  }

  /** At the tail, depth must be 0; records lost to corruption leave it higher (go-diskqueue). */
  private checkTailDepth(): void {
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

  // ---- sync ----

  private sync(): void {
    this.flushWriteBuffer();
    if (this.writeFd >= 0 && this.unsyncedWrites) fs.fdatasyncSync(this.writeFd);
    this.unsyncedWrites = false;
    this.persistMetadata();
    this.opsSinceSync = 0;
  }

  private trySync(context: string): void {
    try {
      this.sync();
    } catch (err) {
      this.log.error({ queue: this.name, err }, `disk queue ${context} failed`);
    }
  }

  /** Only called when every byte up to writePos has been handed to the OS. */
  private persistMetadata(): void {
    writeMetadataFile(this.metaFile, {
      depth: this.depthCount,
      readFileNum: this.readFileNum,
      readPos: this.readPos,
      writeFileNum: this.writeFileNum,
      writePos: this.writePos,
    });
  }

  private readonly onFlushImmediate = (): void => {
    this.flushScheduled = false;
    this.flushImmediate = undefined;
    if (this.closed) return;
    try {
      this.flushWriteBuffer();
    } catch (err) {
      // The records stay in the buffer; the next flush retries them.
      this.log.error({ queue: this.name, err }, 'disk queue write failed');
    }
  };

  private readonly onSyncTimer = (): void => {
    if (this.closed) return;
    if (this.opsSinceSync > 0) {
      this.trySync('timed sync');
    } else if (this.writeBufLen === 0) {
      // Idle for a whole period: give the buffers back; the next activity allocates them again.
      this.releaseBuffers();
    }
  };

  private releaseBuffers(): void {
    if (this.writeBufLen === 0) this.writeBuf = null;
    this.block = null;
    this.blockFileNum = -1;
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.syncTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.flushScheduled = false;
  }

  private removeQuietly(file: string): void {
    try {
      removeIfExists(file);
    } catch (err) {
      this.log.error({ queue: this.name, file, err }, 'disk queue failed to remove file');
    }
  }
}

function closedError(name: string): DiskQueueError {
  return new DiskQueueError(DiskQueueErrorCode.Closed, `disk queue ${name} is closed`);
}

function ioError(err: unknown, what: string): DiskQueueError {
  if (err instanceof DiskQueueError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DiskQueueError(DiskQueueErrorCode.Io, `${what}: ${detail}`, { cause: err });
}
