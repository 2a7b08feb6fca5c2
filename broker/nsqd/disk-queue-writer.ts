/**
 * The write side of a disk queue: appends records to the current data file through a write
 * buffer, so that many records reach the file in one `writeSync`.
 *
 * Invariant: the buffer holds whole records that belong right after `filePos` in the current
 * file, and `filePos` is a record boundary. A flush either writes the whole buffer or changes
 * nothing (writes are positional, so a retry overwrites whatever part of a failed one landed).
 */
import fs from 'node:fs';
import { dataFileName, writeFully } from './disk-queue-files.ts';

/** Records up to this size (header included) are batched; larger ones are written directly. */
export const WRITE_BUFFER_SIZE = 256 * 1024;
const WRITE_FILE_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;

export class RecordWriter {
  private fd = -1;
  private buf: Buffer | null = null;
  private bufLen = 0;
  private currentFileNum: number;
  private written: number;
  private unsynced = false;
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

  /** Appends one record; throws (changing nothing) when a write it needed failed. */
  append(payload: Buffer): void {
    const total = 4 + payload.length;
    if (total > WRITE_BUFFER_SIZE) {
      this.flush();
      this.writeDirect(payload);
      return;
    }
    if (this.bufLen + total > WRITE_BUFFER_SIZE) this.flush();
    const buf = (this.buf ??= Buffer.allocUnsafeSlow(WRITE_BUFFER_SIZE));
    buf.writeInt32BE(payload.length, this.bufLen);
    buf.set(payload, this.bufLen + 4);
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
    this.unsynced = true;
  }

  /** Flushes, then fsyncs what was written since the last fsync. */
  syncData(): void {
    this.flush();
    if (this.fd >= 0 && this.unsynced) fs.fdatasyncSync(this.fd);
    this.unsynced = false;
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
    this.unsynced = false;
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
    this.unsynced = false;
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

  closeFile(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
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
  private writeDirect(payload: Buffer): void {
    if (this.fd < 0) this.openFile();
    this.header.writeInt32BE(payload.length, 0);
    writeFully(this.fd, this.header, 0, 4, this.written);
    writeFully(this.fd, payload, 0, payload.length, this.written + 4);
    this.written += 4 + payload.length;
    this.unsynced = true;
  }
}
