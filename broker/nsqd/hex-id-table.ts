/**
 * A map from message ids, as their two int32 halves (protocol/message-id-hex.ts), to values: the
 * broker's messages in flight. Open addressing with linear probing over a power-of-two table at a
 * load of at most a half, the halves in typed arrays, and backward-shift deletion (no tombstones),
 * as StringTable (protocol/string-table.ts) does for strings; here a lookup compares two integers
 * and hashes nothing but them, and an id needs no string at all.
 */
export class HexIdTable<V> {
  private highs = new Int32Array(0);
  private lows = new Int32Array(0);
  /** undefined marks an empty slot. */
  private values: (V | undefined)[] = [];
  private mask = 0;
  private count = 0;

  /** `capacity`: ids it holds without growing (default 8); past it, it doubles. */
  constructor(capacity = 8) {
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.allocate(size);
  }

  get size(): number {
    return this.count;
  }

  get(high: number, low: number): V | undefined {
    const slot = this.find(high, low);
    return slot >= 0 ? this.values[slot] : undefined;
  }

  /** Adds the id with `value` (not undefined), or replaces its value. */
  set(high: number, low: number, value: V): void {
    let slot = this.find(high, low);
    if (slot < 0) {
      if ((this.count + 1) * 2 > this.values.length) {
        this.grow();
        slot = this.find(high, low);
      }
      slot = -1 - slot;
      this.highs[slot] = high;
      this.lows[slot] = low;
      this.count++;
    }
    this.values[slot] = value;
  }

  /** Removes the id; false when it was not there. */
  delete(high: number, low: number): boolean {
    const { highs, lows, values, mask } = this;
    let hole = this.find(high, low);
    if (hole < 0) return false;
    // Backward shift: a later id of the same run moves into the hole unless its home slot lies
    // between the hole and it (then it is already as near its home as it can be).
    for (let i = (hole + 1) & mask; values[i] !== undefined; i = (i + 1) & mask) {
      const home = homeOf(highs[i]!, lows[i]!, mask);
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        highs[hole] = highs[i]!;
        lows[hole] = lows[i]!;
        values[hole] = values[i];
        hole = i;
      }
    }
    values[hole] = undefined;
    this.count--;
    return true;
  }

  /** Every value, in no particular order. */
  *valuesInAnyOrder(): IterableIterator<V> {
    for (const value of this.values) if (value !== undefined) yield value;
  }

  /** Empties it, keeping its size. */
  clear(): void {
    this.values.fill(undefined);
    this.count = 0;
  }

  /** The id's slot, or -1 - the empty slot where it would go. */
  private find(high: number, low: number): number {
    const { highs, lows, values, mask } = this;
    for (let i = homeOf(high, low, mask); ; i = (i + 1) & mask) {
      if (values[i] === undefined) return -1 - i;
      if (lows[i] === low && highs[i] === high) return i;
    }
  }

  private grow(): void {
    const { highs, lows, values } = this;
    this.allocate(values.length * 2);
    for (let i = 0; i < values.length; i++) {
      if (values[i] === undefined) continue;
      const slot = -1 - this.find(highs[i]!, lows[i]!);
      this.highs[slot] = highs[i]!;
      this.lows[slot] = lows[i]!;
      this.values[slot] = values[i];
    }
  }

  private allocate(size: number): void {
    this.highs = new Int32Array(size);
    this.lows = new Int32Array(size);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }
}

/**
 * The home slot of an id. Ids a broker makes differ mostly in the low half's last 12 bits (a
 * sequence) and its millisecond bits above them: both halves are mixed, and the product's high bits
 * folded down, so consecutive ids spread over the table.
 */
function homeOf(high: number, low: number, mask: number): number {
  const mixed = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  return (mixed ^ (mixed >>> 15)) & mask;
}
