/**
 * Message ids as nsqd makes them: a 64-bit snowflake `(ts << 22) | (nodeId << 12) | sequence`
 * written as 16 lowercase hex characters. `ts` here is milliseconds since nsqd's epoch. When the
 * 4096 ids of one millisecond run out, we borrow the next millisecond instead of sleeping as nsqd
 * does; ids stay unique and increasing.
 *
 * The broker keeps an id as its two 32-bit halves (protocol/message-id-hex.ts): {@link advance}
 * makes the next one in `high` and `low`, and its text is made only where it is asked for.
 */
import { hexIdText, writeHexId } from '../../protocol/message-id-hex.ts';

const NSQ_EPOCH_MS = 1288834974288;
const SEQUENCE_LIMIT = 4096;

export class MessageIdGenerator {
  /** The id made last: its high and low 32 bits, as int32 (0 before the first). */
  high = 0;
  low = 0;
  private lastTs = -1;
  private sequence = 0;
  /** The low half's bits above the sequence: the low 10 bits of `ts` and the node id. */
  private lowPrefix = 0;

  constructor(private readonly nodeId: number) {}

  /**
   * Makes the next id, in `high` and `low` (nsqd/guid.go's layout). `nowMs` (ms since the Unix
   * epoch, default Date.now()) lets a batch read the clock once.
   */
  advance(nowMs = Date.now()): void {
    let ts = nowMs - NSQ_EPOCH_MS;
    if (ts < this.lastTs) ts = this.lastTs; // the clock went back: keep ids increasing
    if (ts === this.lastTs) {
      if (++this.sequence === SEQUENCE_LIMIT) this.setTs(this.lastTs + 1);
    } else {
      this.setTs(ts);
    }
    this.low = this.lowPrefix | this.sequence;
  }

  /** The next id as its 16 lowercase hex characters. */
  next(nowMs = Date.now()): string {
    this.advance(nowMs);
    return hexIdText(this.high, this.low);
  }

  /**
   * The next id written as its 16 ASCII hex bytes at `target[offset]`, without making a string: for
   * a message kept as its record (Topic.publishAll in topic.ts). Same ids as {@link next}. Throws
   * RangeError, writing nothing, when the 16 bytes do not fit.
   */
  writeNext(target: Buffer, offset: number, nowMs = Date.now()): void {
    if (offset < 0 || offset + 16 > target.length) throw new RangeError(`a message id at ${offset} does not fit in ${target.length} bytes`);
    this.advance(nowMs);
    writeHexId(target, offset, this.high, this.low);
  }

  private setTs(ts: number): void {
    this.lastTs = ts;
    this.sequence = 0;
    // Bits 32..63 of the id are ts >> 10; bits 22..31 the low 10 bits of ts, 12..21 the node id.
    this.high = Math.floor(ts / 1024) | 0;
    this.lowPrefix = ((ts % 1024) << 22) | (this.nodeId << 12);
  }
}
