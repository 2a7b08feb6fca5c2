/**
 * Message ids as nsqd makes them: a 64-bit snowflake `(ts << 22) | (nodeId << 12) | sequence`
 * written as 16 lowercase hex characters. `ts` here is milliseconds since nsqd's epoch. When the
 * 4096 ids of one millisecond run out, we borrow the next millisecond instead of sleeping as nsqd
 * does; ids stay unique and increasing.
 */

const NSQ_EPOCH_MS = 1288834974288;
const SEQUENCE_LIMIT = 4096;

export class MessageIdGenerator {
  private lastTs = -1;
  private sequence = 0;
  private highHex = '';
  private lowBase = 0;

  constructor(private readonly nodeId: number) {}

  next(): string {
    let ts = Date.now() - NSQ_EPOCH_MS;
    if (ts < this.lastTs) ts = this.lastTs; // the clock went back: keep ids increasing
    if (ts === this.lastTs) {
      if (++this.sequence === SEQUENCE_LIMIT) {
        ts = this.lastTs + 1;
        this.setTs(ts);
      }
    } else {
      this.setTs(ts);
    }
    const low = (this.lowBase | this.sequence) >>> 0;
    return this.highHex + low.toString(16).padStart(8, '0');
  }

  private setTs(ts: number): void {
    this.lastTs = ts;
    this.sequence = 0;
    // Bits 32..63 of the id are ts >> 10; bits 22..31 are the low 10 bits of ts.
    this.highHex = Math.floor(ts / 1024).toString(16).padStart(8, '0');
    this.lowBase = (((ts % 1024) << 22) | (this.nodeId << 12)) >>> 0;
  }
}
