/**
 * A disk-backed FIFO of message payloads, file-compatible with go-diskqueue v1.1.0 (the layout
 * is described in disk-queue-files.ts).
 *
 * It runs on the broker's event loop, synchronous and batched so that the hot path stays cheap:
 * - `put` appends into a write buffer that reaches the file in one `writeSync` when it is full
 *   or at the end of the tick (one `setImmediate` per batch) — see disk-queue-writer.ts;
 * - `readNextRange` reads the file ahead in blocks and hands each record over where it lies in
 *   its block (disk-queue-reader.ts); records not yet written are copied from the write buffer;
 * - fsync + metadata follow go-diskqueue's policy: every `syncEvery` reads+writes, on a timer
 *   when there was activity, on roll, when a read file is finished, and on close; the periodic
 *   fdatasync and metadata save go to the thread pool, as nsqd's go to a goroutine
 *   (disk-queue-background-sync.ts, disk-queue-meta-writer.ts).
 *   `syncEvery <= 1` makes every `put` durable before it returns, or, with a group commit, before
 *   the end of the turn (group-commit.ts); ack mode saves only finished reads (disk-queue-acks.ts).
 * This class owns that policy and the operations; the positions and the files they point into are
 * DiskQueueState's (disk-queue-state.ts).
 */
import { DiskQueueError, DiskQueueErrorCode, dataFileName, listMetadataTmpFiles, setAsideBadFile, setAsideFilesFrom } from './disk-queue-files.ts';
import { DiskQueueState, closedError, ioError, type DiskQueueOptions } from './disk-queue-state.ts';
import { resyncRead } from './disk-queue-resync.ts';
import type { RecordRange } from './disk-queue-reader.ts';

export { DiskQueueError, DiskQueueErrorCode } from './disk-queue-files.ts';
export type { DiskQueueLogger } from './disk-queue-logger.ts';
export type { DiskQueueOptions } from './disk-queue-state.ts';

export class DiskQueue extends DiskQueueState {
  private flushImmediate: NodeJS.Immediate | undefined;
  private readonly syncTimer: NodeJS.Timeout;

  private constructor(options: DiskQueueOptions) {
    super(options);
    this.syncTimer = setInterval(this.onSyncTimer, Math.max(1, options.syncTimeoutMs));
    this.syncTimer.unref();
  }

  /** Opens (creating or recovering) the queue. Synchronous. */
  static open(options: DiskQueueOptions): DiskQueue {
    try {
      return new DiskQueue(options);
    } catch (err) {
      throw ioError(err, `open disk queue ${options.name}`);
    }
  }

  /** Records written and not yet read. */
  get depth(): number {
    return this.depthCount;
  }

  /**
   * Appends a record whose payload is `payload`, or `payload` followed by `tail[tailStart, tailEnd)`
   * (a message's header and body: nothing is allocated to join them). Throws RangeError for a range
   * outside `tail`, and a {@link DiskQueueError} when the payload
   * size is out of range, the queue is closed, or the record could not be accepted: in durable mode,
   * when it is not on disk; otherwise only when the write buffer was full and could not be written.
   */
  put(payload: Buffer, tail?: Buffer, tailStart = 0, tailEnd: number = tail === undefined ? 0 : tail.length): void {
    if (this.closed) throw closedError(this.name);
    // A range outside `tail` would copy whatever lies beside it in the ArrayBuffer (Node's pool).
    if (tail !== undefined && (tailStart < 0 || tailEnd < tailStart || tailEnd > tail.length)) {
      throw new RangeError(`tail range ${tailStart}..${tailEnd} is outside its ${tail.length} bytes`);
    }
    const length = payload.length + tailEnd - tailStart;
    if (length < this.minMsgSize || length > this.maxMsgSize) {
      throw new DiskQueueError(
        DiskQueueErrorCode.InvalidMessageSize,
        `invalid message write size (${length}) minMsgSize=${this.minMsgSize} maxMsgSize=${this.maxMsgSize}`,
      );
    }
    const total = 4 + length;
    try {
      const writePos = this.writePos;
      if (writePos > 0 && writePos + total > this.maxBytesPerFile) this.rollWriteFile();
      this.writer.append(payload, tail, tailStart, tailEnd);
    } catch (err) {
      throw ioError(err, `put to disk queue ${this.name}`);
    }
    this.depthCount++;
    this.opsSinceSync++;

    if (this.syncEvery <= 1 && this.committer !== undefined) {
      this.writeLastPut(total);
    } else if (this.syncEvery <= 1) {
      this.makeLastPutDurable(total);
    } else {
      // A sync already running leaves this record in the buffer: the end-of-turn flush still writes it.
      if (this.opsSinceSync >= this.syncEvery) this.syncInBackground();
      if (this.flushImmediate === undefined && this.writer.pendingBytes > 0) this.flushImmediate = setImmediate(this.onFlushImmediate);
    }
  }

  /** Where the record {@link readNextRange} moved to is (one object, changed by each read). */
  readonly lastRecord: RecordRange = this.reader.record;

  /**
   * Moves to the next record; false when empty. Its payload is then `lastRecord`'s range, bytes
   * nothing writes to again (disk-queue-reader.ts): a message may keep them as its own.
   */
  readNextRange(): boolean {
    if (this.closed) throw closedError(this.name);
    const reader = this.reader;
    try {
      for (;;) {
        let failure: string | undefined;
        if (this.readFileNum === this.writeFileNum) {
          if (this.readPos >= this.writePos) return false;
          if (this.readPos >= this.writer.filePos) reader.hold(this.writer.copyBufferedRecord(this.readPos));
          else failure = reader.read(this.readFileNum, this.readPos, this.writer.filePos);
        } else {
          if (this.readFileEnd < 0) {
            const size = reader.fileSize(this.readFileNum);
            if (typeof size === 'string') {
              this.skipBadFile(size, 0);
              continue;
            }
            this.readFileEnd = size;
          }
          if (this.readPos >= this.readFileEnd) {
            this.finishReadFile();
            continue;
          }
          failure = reader.read(this.readFileNum, this.readPos, this.readFileEnd);
        }
        const { source, start, end } = reader.record;
        if (failure !== undefined || (this.recordCheck !== undefined && !this.recordCheck(source, start, end))) {
          this.skipBadFile(failure ?? 'not a message', reader.lastLength);
          continue;
        }
        if (this.acks !== undefined) this.lastReadSeq = this.acks.push(this.readFileNum, this.readPos + 4 + end - start);
        this.advanceRead(4 + end - start);
        return true;
      }
    } catch (err) {
      throw ioError(err, `read from disk queue ${this.name}`);
    }
  }

  /** Drops everything: deletes the data files and the metadata file; depth becomes 0. */
  empty(): void {
    if (this.closed) throw closedError(this.name);
    this.reader.close();
    const last = this.writeFileNum;
    this.writer.restartAt(last + 1);
    this.removeDataFiles();
    this.readFileNum = last + 1;
    this.readPos = 0;
    this.readFileEnd = -1;
    this.depthCount = 0;
    this.opsSinceSync = 0;
    this.resetAcks();
    this.cancelSaves();
    this.removeQuietly(this.metaFile);
  }

  /** Flushes, fsyncs, saves the metadata, closes the files and stops the timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.stop();
    let failure: unknown;
    try {
      this.finalSync();
    } catch (err) {
      failure = err;
    }
    this.releaseFiles();
    if (failure !== undefined) throw ioError(failure, `close disk queue ${this.name}`);
  }

  /** Closes the queue without saving and removes every data and metadata file it has. */
  deleteFiles(): void {
    this.stop();
    this.writer.restartAt(this.writeFileNum);
    this.releaseFiles();
    this.removeDataFiles();
    this.cancelSaves();
    this.removeQuietly(this.metaFile);
    for (const tmp of listMetadataTmpFiles(this.dataPath, this.name)) this.removeQuietly(tmp);
  }

  /** Durable mode: the record is in the file, fsynced, and the metadata saved, or put throws. */
  private makeLastPutDurable(total: number): void {
    this.flushLastPut(total);
    try {
      this.sync();
    } catch (err) {
      throw ioError(err, `sync disk queue ${this.name}`);
    }
  }

  /** Finishes the write file and moves writing to the next one; a caught-up reader follows. */
  private rollWriteFile(): void {
    const finishedNum = this.writeFileNum;
    const finishedSize = this.writer.finishFile();
    setAsideFilesFrom(this.dataPath, this.name, this.writeFileNum, this.log);
    if (this.readFileNum === finishedNum) {
      this.readFileEnd = finishedSize;
      if (this.readPos >= finishedSize) {
        // The reader had consumed the whole file: move it along now rather than leave a
        // position at the end of a finished file in the metadata.
        this.moveReadToNextFile();
      }
    }
    this.opsSinceSync = 0;
    if (this.saveAtCommit()) return;
    try {
      this.persistMetadata();
    } catch (err) {
      this.log.error({ queue: this.name, err }, 'disk queue failed to save metadata on roll');
    }
    if (this.readFileNum > finishedNum) this.removeQuietly(dataFileName(this.dataPath, this.name, finishedNum));
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
    if (this.committer !== undefined) {
      if (this.acks === undefined) this.saveAtCommit();
    } else if (this.opsSinceSync >= this.syncEvery) {
      if (this.syncEvery > 1) this.syncInBackground();
      else this.trySync('sync after a read');
    }
  }

  /** A finished file has been read to its end: save the positions, then delete it. */
  private finishReadFile(): void {
    const finished = this.readFileNum;
    this.moveReadToNextFile();
    this.checkTailDepth();
    // With a group commit the file goes once the saved position has passed it (after a commit).
    if (this.saveAtCommit()) return;
    this.trySync('sync after finishing a read file');
    this.removeQuietly(dataFileName(this.dataPath, this.name, finished));
  }

  /**
   * The record at readPos cannot be trusted: resume at the next whole record of the file, or with
   * none, keep the file as `<file>.bad` and go on with the next one (go-diskqueue's handleReadError).
   */
  private skipBadFile(reason: string, length: number): void {
    const file = dataFileName(this.dataPath, this.name, this.readFileNum);
    const limit = this.readFileNum === this.writeFileNum ? this.writer.filePos : this.readFileEnd;
    const { name: queue, readPos: pos, minMsgSize, maxMsgSize, recordCheck: check, log } = this;
    const resumeAt = limit > pos ? resyncRead({ queue, file, pos, limit, minMsgSize, maxMsgSize, check, reason, log }) : -1;
    if (resumeAt >= 0) return void (this.readPos = resumeAt);
    this.log.error(
      { queue: this.name, file, readPos: this.readPos, length, reason },
      'disk queue read error; skipping the rest of the file',
    );
    this.reader.close();
    // Writing moves on too when this is the write file; its buffered records go to the new file.
    if (this.readFileNum === this.writeFileNum) {
      this.writer.abandonFile(this.writeFileNum + 1);
      setAsideFilesFrom(this.dataPath, this.name, this.writeFileNum, this.log);
    }
    this.log.warn({ queue: this.name, file: `${file}.bad` }, 'disk queue jumping to the next file and saving the bad file');
    this.moveReadToNextFile(setAsideBadFile(this.dataPath, this.name, this.readFileNum, this.writeFileNum, this.log));
    this.checkTailDepth();
    if (!this.saveAtCommit()) this.trySync('sync after skipping a bad file');
  }

  private readonly onFlushImmediate = (): void => {
    this.flushImmediate = undefined;
    if (this.closed) return;
    try {
      this.writer.flush();
    } catch (err) {
      // The records stay in the buffer; the next flush retries them.
      this.log.error({ queue: this.name, err }, 'disk queue write failed');
    }
  };

  private readonly onSyncTimer = (): void => {
    if (this.closed) return;
    if (this.opsSinceSync > 0) {
      this.timedSync();
    } else {
      // Idle for a whole period: give the buffers back; the next activity allocates them again.
      this.writer.releaseBuffer();
      this.reader.releaseBuffer();
    }
  };

  private stop(): void {
    this.closed = true;
    clearInterval(this.syncTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
  }
}
