/**
 * The durable read position of a disk queue in sync mode. A record that has been read is not done
 * with: it is in flight at a consumer, and a crash must deliver it again. So the read position that
 * is saved in the metadata file (the one a restarted broker, or nsqd v1.3.0, resumes from) only
 * advances past records that are finished, or that were moved durably elsewhere (requeued to the
 * end of the queue, or deferred into the journal). Records finish out of order: this keeps, per
 * record read, where it ends and whether it is done, and the saved position follows the longest
 * done prefix. The window lives in typed arrays grown by doubling: no allocation per record.
 *
 * Its size is bounded by what is read and not finished behind the oldest unfinished record: at most
 * the messages read within one message timeout (after which the oldest is requeued, hence done).
 */

export interface ReadPosition {
  fileNum: number;
  pos: number;
}

export class AckWindow {
  private fileNums = new Int32Array(64);
  private ends = new Float64Array(64);
  private done = new Uint8Array(64);
  /** Ring indexes: head is the oldest record not yet passed; count records are held. */
  private head = 0;
  private count = 0;
  /** Sequence number of the record at head; sequence numbers only grow. */
  private headSeq = 0;
  /** The durable position: the end of the last record of the done prefix. */
  readonly durable: ReadPosition;

  constructor(start: ReadPosition) {
    this.durable = { fileNum: start.fileNum, pos: start.pos };
  }

  /** Records read and not yet passed by the durable position (done or not). */
  get size(): number {
    return this.count;
  }

  /** A record was read; it ends at `end` in file `fileNum`. Returns its sequence number. */
  push(fileNum: number, end: number): number {
    if (this.count === this.fileNums.length) this.grow();
    const at = (this.head + this.count) & (this.fileNums.length - 1);
    this.fileNums[at] = fileNum;
    this.ends[at] = end;
    this.done[at] = 0;
    this.count++;
    return this.headSeq + this.count - 1;
  }

  /**
   * Marks a record done. Returns true when the durable position moved (the caller saves it). A
   * sequence number already passed, or never given (a window reset by `empty`), is ignored.
   */
  ack(seq: number): boolean {
    const offset = seq - this.headSeq;
    if (offset < 0 || offset >= this.count) return false;
    const mask = this.fileNums.length - 1;
    this.done[(this.head + offset) & mask] = 1;
    if (offset !== 0) return false;
    while (this.count > 0 && this.done[this.head] === 1) {
      this.durable.fileNum = this.fileNums[this.head]!;
      this.durable.pos = this.ends[this.head]!;
      this.head = (this.head + 1) & mask;
      this.count--;
      this.headSeq++;
    }
    return true;
  }

  /** A durable position at the end of a finished file (below `writeFileNum`) moves on to the next file. */
  skipFinishedFiles(writeFileNum: number, sizeOf: (fileNum: number) => number, next = (fileNum: number) => fileNum + 1): void {
    const durable = this.durable;
    while (durable.fileNum < writeFileNum && durable.pos >= sizeOf(durable.fileNum)) {
      durable.fileNum = next(durable.fileNum);
      durable.pos = 0;
    }
  }

  /** Everything was dropped (the queue was emptied): the durable position jumps to `to`. */
  reset(to: ReadPosition): void {
    this.headSeq += this.count;
    this.head = 0;
    this.count = 0;
    this.durable.fileNum = to.fileNum;
    this.durable.pos = to.pos;
  }

  private grow(): void {
    const size = this.fileNums.length;
    const fileNums = new Int32Array(size * 2);
    const ends = new Float64Array(size * 2);
    const done = new Uint8Array(size * 2);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (size - 1);
      fileNums[i] = this.fileNums[from]!;
      ends[i] = this.ends[from]!;
      done[i] = this.done[from]!;
    }
    this.fileNums = fileNums;
    this.ends = ends;
    this.done = done;
    this.head = 0;
  }
}
