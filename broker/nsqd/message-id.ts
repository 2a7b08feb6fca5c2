/**
 * Message ids as nsqd makes them: a 64-bit snowflake `(ts << 22) | (nodeId << 12) | sequence`
 * written as 16 lowercase hex characters. `ts` here is milliseconds since nsqd's epoch. When the
 * 4096 ids of one millisecond run out, we borrow the next millisecond instead of sleeping as nsqd
 * does; ids stay unique and increasing.
 */

const NSQ_EPOCH_MS = 1288834974288;
const SEQUENCE_LIMIT = 4096;
/** The sequence is the id's last 12 bits, its last three hex digits: made once, not per message. */
const SEQUENCE_HEX: readonly string[] = Array.from({ length: SEQUENCE_LIMIT }, (_, sequence) => sequence.toString(16).padStart(3, '0'));

export class MessageIdGenerator {
  private lastTs = -1;
  private sequence = 0;
  /** The id's first 13 hex digits, the same for every id of one millisecond. */
  private prefix = '';

  constructor(private readonly nodeId: number) {}

  /** The next id: 16 lowercase hex characters (nsqd/guid.go's layout). */
  next(): string {
    let ts = Date.now() - NSQ_EPOCH_MS;
    if (ts < this.lastTs) ts = this.lastTs; // the clock went back: keep ids increasing
    if (ts === this.lastTs) {
      if (++this.sequence === SEQUENCE_LIMIT) this.setTs(this.lastTs + 1);
    } else {
      this.setTs(ts);
    }
    return this.prefix + SEQUENCE_HEX[this.sequence]!;
  }

  private setTs(ts: number): void {
    this.lastTs = ts;
    this.sequence = 0;
    // Bits 32..63 of the id are ts >> 10; bits 22..31 the low 10 bits of ts, 12..21 the node id.
    const high = Math.floor(ts / 1024).toString(16).padStart(8, '0');
    const middle = ((ts % 1024) << 10) | this.nodeId;
    this.prefix = high + middle.toString(16).padStart(5, '0');
  }
}
