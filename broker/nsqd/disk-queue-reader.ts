/**
 * The read side of a disk queue: an fd on the file being read, read ahead in blocks, out of which
 * each record is handed over where it lies (`record`: a block, and the payload's range in it). A
 * block is never read into again, so a record's bytes stay as they were for as long as a message
 * holds them, and the block lives as long as the messages read from it do: as a memory queue's
 * slab does (memory-queue.ts), and for the same reason a message kept long (deferred, requeued)
 * takes memory of its own (BrokerMessage.ownBody). Copying each record out cost an allocation and
 * two views per message, and a fifth of the broker's garbage collection when a consumer drained
 * the disk queue under nsq's bench_reader.
 *
 * The reader knows nothing of positions; the queue asks for "the record at pos of file N,
 * whose readable bytes end at limit" and gets the record or the reason it is not valid.
 */
import fs from 'node:fs';
import { dataFileName, readFully } from './disk-queue-files.ts';

/** Bytes read ahead at a time (less when less is there): a block pinned by a message in flight costs at most this. */
const READ_BLOCK_SIZE = 256 * 1024;

/** Where a record's payload is: `source[start, end)`. */
export interface RecordRange {
  source: Buffer;
  start: number;
  end: number;
}

export class RecordReader {
  private fd = -1;
  private fdFileNum = -1;
  private block: Buffer | null = null;
  private blockFileNum = -1;
  private blockPos = 0;
  private blockLen = 0;
  /** Length of the last record read, header excluded. */
  lastLength = 0;
  /** The last record read (one object, changed by each read). */
  readonly record: RecordRange = { source: Buffer.alloc(0), start: 0, end: 0 };

  constructor(
    private readonly dataPath: string,
    private readonly name: string,
    private readonly minMsgSize: number,
    private readonly maxMsgSize: number,
  ) {}

  /** The file's size, or a reason string when it cannot be opened. */
  fileSize(fileNum: number): number | string {
    const failure = this.ensureOpen(fileNum);
    return failure ?? fs.fstatSync(this.fd).size;
  }

  /**
   * Reads the record at `pos` of file `fileNum`, whose valid bytes end at `limit`, into `record`;
   * returns undefined, or a string saying why the bytes there are not a valid record (`record` is
   * then unchanged). Its length is left in lastLength.
   */
  read(fileNum: number, pos: number, limit: number): string | undefined {
    this.lastLength = 0;
    const failure = this.ensureOpen(fileNum);
    if (failure !== undefined) return failure;
    let avail = this.blockFileNum === fileNum && pos >= this.blockPos ? this.blockPos + this.blockLen - pos : 0;
    if (avail < 4) avail = this.fillBlock(fileNum, pos, limit, 4);
    if (avail < 4) return 'truncated record header';
    let at = pos - this.blockPos;
    const length = (this.block as Buffer).readInt32BE(at);
    this.lastLength = length;
    if (length < this.minMsgSize || length > this.maxMsgSize) return `invalid message read size (${length})`;
    const total = 4 + length;
    if (pos + total > limit) return `record of ${length} bytes runs past the end of the file`;
    if (avail < total) {
      // The record runs past the block: a fresh block from its start, as large as it needs.
      if (this.fillBlock(fileNum, pos, limit, total) < total) return 'short read';
      at = 0;
    }
    const record = this.record;
    record.source = this.block as Buffer;
    record.start = at + 4;
    record.end = at + total;
    return undefined;
  }

  /** Makes `payload` (a copy of a record not yet written) the record read. */
  hold(payload: Buffer): void {
    this.record.source = payload;
    this.record.start = 0;
    this.record.end = payload.length;
  }

  /** Closes the file (it is finished, bad, or the queue is closing) and forgets its block. */
  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    this.fdFileNum = -1;
    this.blockFileNum = -1;
  }

  /** Lets go of the block read ahead (the messages read from it keep it for as long as they need it). */
  releaseBuffer(): void {
    this.block = null;
    this.blockFileNum = -1;
    this.record.source = Buffer.alloc(0);
  }

  private ensureOpen(fileNum: number): string | undefined {
    if (this.fdFileNum === fileNum) return undefined;
    this.close();
    try {
      this.fd = fs.openSync(dataFileName(this.dataPath, this.name, fileNum), 'r');
    } catch (err) {
      return `cannot open: ${(err as Error).message}`;
    }
    this.fdFileNum = fileNum;
    return undefined;
  }

  /**
   * Reads a fresh block at `pos`, of READ_BLOCK_SIZE or `atLeast` bytes, whichever is more, up to
   * `limit`; returns the bytes available there.
   */
  private fillBlock(fileNum: number, pos: number, limit: number, atLeast: number): number {
    const want = Math.min(Math.max(READ_BLOCK_SIZE, atLeast), limit - pos);
    // Not from Node's shared pool, and never read into again (see the top of this file).
    const block = Buffer.allocUnsafeSlow(Math.max(0, want));
    this.block = block;
    this.blockLen = want > 0 ? readFully(this.fd, block, 0, want, pos) : 0;
    this.blockPos = pos;
    this.blockFileNum = fileNum;
    return this.blockLen;
  }
}
