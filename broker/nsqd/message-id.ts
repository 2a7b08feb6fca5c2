/**
 * Message ids as nsqd makes them: a 64-bit snowflake `(ts << 22) | (nodeId << 12) | sequence`
 * written as 16 lowercase hex characters. `ts` here is milliseconds since nsqd's epoch. When the
 * 4096 ids of one millisecond run out, we borrow the next millisecond instead of sleeping as nsqd
 * does; ids stay unique and increasing.
 */

const NSQ_EPOCH_MS = 1288834974288;
const SEQUENCE_LIMIT = 4096;
/** Character codes of the 16 lowercase hex digits. */
const HEX = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

export class MessageIdGenerator {
  private lastTs = -1;
  private sequence = 0;
  /** Character codes of the id's first 13 hex digits, the same for every id of one millisecond. */
  private readonly prefix = new Array<number>(13).fill(HEX[0]!);

  constructor(private readonly nodeId: number) {}

  /**
   * The next id: 16 lowercase hex characters (nsqd/guid.go's layout). `nowMs` (ms since the Unix
   * epoch, default Date.now()) lets a batch read the clock once.
   */
  next(nowMs = Date.now()): string {
    this.advance(nowMs);
    // One flat string from character codes: joining strings made a rope that every write of the id
    // into a buffer had to flatten first, which cost 40% more per message.
    const p = this.prefix;
    const sequence = this.sequence;
    return String.fromCharCode(
      p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!, p[8]!, p[9]!, p[10]!, p[11]!, p[12]!,
      HEX[sequence >> 8]!, HEX[(sequence >> 4) & 15]!, HEX[sequence & 15]!,
    );
  }

  /**
   * The next id written as its 16 ASCII hex bytes at `target[offset]`, without making a string: for
   * a message kept as its record (Topic.publishAll in topic.ts). Same ids as
   * {@link next}. Throws RangeError, writing nothing, when the 16 bytes do not fit.
   */
  writeNext(target: Buffer, offset: number, nowMs = Date.now()): void {
    if (offset < 0 || offset + 16 > target.length) throw new RangeError(`a message id at ${offset} does not fit in ${target.length} bytes`);
    this.advance(nowMs);
    const p = this.prefix;
    for (let i = 0; i < 13; i++) target[offset + i] = p[i]!;
    const sequence = this.sequence;
    target[offset + 13] = HEX[sequence >> 8]!;
    target[offset + 14] = HEX[(sequence >> 4) & 15]!;
    target[offset + 15] = HEX[sequence & 15]!;
  }

  private advance(nowMs: number): void {
    let ts = nowMs - NSQ_EPOCH_MS;
    if (ts < this.lastTs) ts = this.lastTs; // the clock went back: keep ids increasing
    if (ts === this.lastTs) {
      if (++this.sequence === SEQUENCE_LIMIT) this.setTs(this.lastTs + 1);
    } else {
      this.setTs(ts);
    }
  }

  private setTs(ts: number): void {
    this.lastTs = ts;
    this.sequence = 0;
    // Bits 32..63 of the id are ts >> 10; bits 22..31 the low 10 bits of ts, 12..21 the node id.
    const high = Math.floor(ts / 1024);
    const middle = ((ts % 1024) << 10) | this.nodeId;
    for (let i = 0; i < 8; i++) this.prefix[i] = HEX[Math.floor(high / 16 ** (7 - i)) % 16]!;
    for (let i = 0; i < 5; i++) this.prefix[8 + i] = HEX[(middle >> (4 * (4 - i))) & 15]!;
  }
}
