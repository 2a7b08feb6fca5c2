/**
 * The read side of a disk queue: an fd on the file being read and a large block of it read
 * ahead, out of which records are copied. Copies, not slices: a slice would pin its whole 1 MiB
 * block for as long as the broker holds the message (a deferred one may be held for an hour),
 * and one block is reused for the whole queue.
 *
 * The reader knows nothing of positions; the queue asks for "the record at pos of file N,
 * whose readable bytes end at limit" and gets the payload or the reason it is not valid.
 */
import fs from 'node:fs';
import { dataFileName, readFully } from './disk-queue-files.ts';

const READ_BLOCK_SIZE = 1024 * 1024;

export class RecordReader {
  private fd = -1;
  private fdFileNum = -1;
  private block: Buffer | null = null;
  private blockFileNum = -1;
  private blockPos = 0;
  private blockLen = 0;
  /** Length of the last record returned, header excluded. */
  lastLength = 0;

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
   * The payload of the record at `pos` of file `fileNum`, whose valid bytes end at `limit`; or a
   * string saying why the bytes there are not a valid record. Its length is left in lastLength.
   */
  read(fileNum: number, pos: number, limit: number): Buffer | string {
    this.lastLength = 0;
    const failure = this.ensureOpen(fileNum);
    if (failure !== undefined) return failure;
    let avail = this.blockFileNum === fileNum && pos >= this.blockPos ? this.blockPos + this.blockLen - pos : 0;
    if (avail < 4) avail = this.fillBlock(fileNum, pos, limit);
    if (avail < 4) return 'truncated record header';
    const block = this.block as Buffer;
    const at = pos - this.blockPos;
    const length = block.readInt32BE(at);
    this.lastLength = length;
    if (length < this.minMsgSize || length > this.maxMsgSize) return `invalid message read size (${length})`;
    const total = 4 + length;
    if (pos + total > limit) return `record of ${length} bytes runs past the end of the file`;

    const out = Buffer.allocUnsafe(length);
    if (avail >= total) {
      block.copy(out, 0, at + 4, at + total);
    } else if (total <= block.length) {
      // The record straddles the end of the block: read the block again from its start.
      if (this.fillBlock(fileNum, pos, limit) < total) return 'short read';
      block.copy(out, 0, 4, total);
    } else {
      // Larger than a block: take what the block has, read the rest straight into the record.
      const have = avail - 4;
      block.copy(out, 0, at + 4, at + avail);
      if (readFully(this.fd, out, have, length - have, pos + avail) < length - have) return 'short read';
    }
    return out;
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

  /** Gives the block back; the next read allocates it again. */
  releaseBuffer(): void {
    this.block = null;
    this.blockFileNum = -1;
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

  /** Reads the block at `pos`, up to `limit`; returns the bytes available there. */
  private fillBlock(fileNum: number, pos: number, limit: number): number {
    const block = (this.block ??= Buffer.allocUnsafeSlow(READ_BLOCK_SIZE));
    const want = Math.min(block.length, limit - pos);
    this.blockLen = want > 0 ? readFully(this.fd, block, 0, want, pos) : 0;
    this.blockPos = pos;
    this.blockFileNum = fileNum;
    return this.blockLen;
  }
}
