/**
 * The write side of a disk queue: appends records to the current data file through a write
 * buffer, so that many records reach the file in one `writeSync`.
 *
 * Invariant: the buffer holds whole records that belong right after `filePos` in the current
 * file, and `filePos` is a record boundary. A flush either writes the whole buffer or changes
 * nothing (writes are positional, so a retry overwrites whatever part of a failed one landed).
 */
import fs from 'node:fs';
import { copyRange } from './copy-range.ts';
import { dataFileName, writeFully } from './disk-queue-files.ts';

/** Records up to this size (header included) are batched; larger ones are written directly. */
export const WRITE_BUFFER_SIZE = 256 * 1024;
const EMPTY = Buffer.alloc(0);
const WRITE_FILE_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;

export class RecordWriter {
  private fd = -1;
  private buf: Buffer | null = null;
  private bufLen = 0;
  private currentFileNum: number;
  private written: number;
  /** Flushes (writes to the file) so far, and how many of them an fdatasync has covered. */
  private flushedSeq = 0;
  private syncedSeq = 0;
  /** The file a background fdatasync is running on (-1: none); its close waits for it. */
  private backgroundFd = -1;
  private closeAfterBackground = false;
  /** A file was opened since the last `syncData`: its directory entry needs an fsync too (power loss). */
  openedFile = false;
  private readonly header = Buffer.allocUnsafe(4);

  constructor(
    private readonly dataPath: string,
    private readonly name: string,
    fileNum: number,
    filePos: number,
  ) {
    this.currentFileNum = fileNum;
    this.written = filePos;
  }

  /** Number of the file being written. */
  get fileNum(): number {
    return this.currentFileNum;
  }

  /** Bytes of the current file already handed to the OS. */
  get filePos(): number {
    return this.written;
  }

  /** Bytes waiting in the buffer, after filePos. */
  get pendingBytes(): number {
    return this.bufLen;
  }

  /**
   * Appends one record whose payload is `head` followed by `tail[tailStart, tailEnd)` (a message's
   * header and body, so that no buffer is made to join them, nor a view of a body inside an MPUB
   * frame); throws (changing nothing) when a write it needed failed.
   */
  append(head: Buffer, tail: Buffer = EMPTY, tailStart = 0, tailEnd: number = tail.length): void {
    const tailLength = tailEnd - tailStart;
    const length = head.length + tailLength;
    const total = 4 + length;
    if (total > WRITE_BUFFER_SIZE) {
      this.flush();
      this.writeDirect(head, tail, tailStart, tailLength);
      return;
    }
    if (this.bufLen + total > WRITE_BUFFER_SIZE) this.flush();
    const buf = (this.buf ??= Buffer.allocUnsafeSlow(WRITE_BUFFER_SIZE));
    const at = this.bufLen;
    buf.writeInt32BE(length, at);
    buf.set(head, at + 4);
    if (tailLength > 0) copyRange(buf, at + 4 + head.length, tail, tailStart, tailEnd);
    this.bufLen += total;
  }

  /** Takes back the last `total` buffered bytes (a durable put whose write failed). */
  unappend(total: number): void {
    this.bufLen -= total;
  }

  flush(): void {
    const length = this.bufLen;
    if (length === 0 || this.buf === null) return;
    if (this.fd < 0) this.openFile();
    writeFully(this.fd, this.buf, 0, length, this.written);
    this.written += length;
    this.bufLen = 0;
    this.flushedSeq++;
  }

  /** Flushes, then fsyncs what was written since the last fsync (a background one still running included). */
  syncData(): void {
    this.flush();
    if (this.fd >= 0 && this.flushedSeq !== this.syncedSeq) fs.fdatasyncSync(this.fd);
    this.syncedSeq = this.flushedSeq;
  }

  /**
   * fdatasyncs on the thread pool what was flushed so far (the caller flushes first), then calls
   * `done` with null or the error; at once when there is nothing to sync. One at a time: the caller
   * waits for `done` before the next (disk-queue-background-sync.ts).
   */
  syncDataInBackground(done: (err: Error | null) => void): void {
    if (this.fd < 0 || this.flushedSeq === this.syncedSeq) return done(null);
    const fd = this.fd;
    const covers = this.flushedSeq;
    this.backgroundFd = fd;
    fs.fdatasync(fd, (err) => {
      this.backgroundFd = -1;
      if (err === null) this.syncedSeq = Math.max(this.syncedSeq, covers);
      if (this.closeAfterBackground) {
        this.closeAfterBackground = false;
        // Closed here, before `done`, not on the thread pool: once the sync is reported the
        // rolled file holds no descriptor (a close is one cheap syscall, once per file).
        try {
          fs.closeSync(fd);
        } catch {
          // The data is already fdatasynced: a failed close loses nothing, as nsqd ignores its Close error.
        }
      }
      done(err);
    });
  }

  /**
   * Completes the current file, flushed, cut to its records (readers take a finished file's size
   * as its end, so bytes of an earlier failed write must go) and fsynced; then moves to the next.
   */
  finishFile(): number {
    this.flush();
    const size = this.written;
    if (this.fd >= 0) {
      fs.ftruncateSync(this.fd, size);
      fs.fdatasyncSync(this.fd);
      this.closeFile();
    }
    this.syncedSeq = this.flushedSeq;
    this.currentFileNum++;
    this.written = 0;
    return size;
  }

  /**
   * Abandons the current file (it turned out corrupt) for `fileNum`. The buffered records were
   * never written to it: they become the start of the new file.
   */
  abandonFile(fileNum: number): void {
    this.closeFile();
    this.currentFileNum = fileNum;
    this.written = 0;
    this.syncedSeq = this.flushedSeq; // nothing of the new file is written yet
  }

  /** Drops the buffered records and moves to `fileNum` (the queue was emptied). */
  restartAt(fileNum: number): void {
    this.bufLen = 0;
    this.abandonFile(fileNum);
  }

  /** A copy of the payload of the buffered record at file position `pos` (>= filePos). */
  copyBufferedRecord(pos: number): Buffer {
    const buf = this.buf as Buffer;
    const at = pos - this.written;
    const length = buf.readInt32BE(at);
    const out = Buffer.allocUnsafe(length);
    buf.copy(out, 0, at + 4, at + 4 + length);
    return out;
  }

  /** Closes the write file; one a background fdatasync is running on is closed when it ends. */
  closeFile(): void {
    if (this.fd < 0) return;
    if (this.fd === this.backgroundFd) this.closeAfterBackground = true;
    else fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Gives the buffer back when it is empty; the next append allocates it again. */
  releaseBuffer(): void {
    if (this.bufLen === 0) this.buf = null;
  }

  private openFile(): void {
    this.openedFile = true;
    this.fd = fs.openSync(dataFileName(this.dataPath, this.name, this.currentFileNum), WRITE_FILE_FLAGS, 0o600);
  }

  /** A record larger than the buffer goes straight to the file; the buffer is empty here. */
  private writeDirect(head: Buffer, tail: Buffer, tailStart: number, tailLength: number): void {
    if (this.fd < 0) this.openFile();
    const length = head.length + tailLength;
    this.header.writeInt32BE(length, 0);
    writeFully(this.fd, this.header, 0, 4, this.written);
    writeFully(this.fd, head, 0, head.length, this.written + 4);
    writeFully(this.fd, tail, tailStart, tailLength, this.written + 4 + head.length);
    this.written += 4 + length;
    this.flushedSeq++;
  }
}
