/**
 * The dedup queue's index of message ids: nsqd's ids are 16 ASCII characters (hex), which pack into
 * four 32-bit integers, so a queue of them is kept in typed arrays, not as 10,000 strings. Strings
 * held for a while survive the young generation's collections and are copied by each one: a queue
 * of id strings cost a worker about 0.1 µs of garbage collection per message (`npm run bench
 * runner`, the dedup queue on and off), as much as its lookups.
 *
 * The index maps a packed key to the ring slot that holds it (the ring is the queue's, in
 * runner/worker/dedup.ts): open addressing with linear probing at a load of at most a half, and
 * backward-shift deletion, as protocol/string-table.ts; it never grows, as the queue is bounded.
 */

/** Packs a 16-character key of codes below 256 into `out[0..3]`, four characters a word; false for any other key (`out` then holds nothing of use). */
export function packKey(key: string, out: Int32Array): boolean {
  if (key.length !== 16) return false;
  let high = 0;
  for (let word = 0, i = 0; word < 4; word++, i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    high |= c0 | c1 | c2 | c3;
    out[word] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
  }
  return high <= 0xff;
}

/** The key {@link packKey} packed into `keys[at..at+3]`, as the string it came from. */
export function unpackKey(keys: Int32Array, at: number): string {
  let text = '';
  for (let word = at; word < at + 4; word++) {
    const value = keys[word]!;
    text += String.fromCharCode(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
  }
  return text;
}

/** A hash of four packed words (never 0, the empty slot's mark: the lowest bit is set). */
export function hashPacked(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x165667b1);
  return (h ^ (h >>> 15)) | 1;
}

export class PackedKeyIndex {
  /** Each slot's ring slot + 1 (0: empty). */
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  /** Each ring slot's table slot, kept as entries move, so a removal does not probe for it. */
  private readonly positions: Int32Array;
  private readonly mask: number;

  /** `keys`: the ring's packed keys, four words per ring slot, read to compare. */
  constructor(
    capacity: number,
    private readonly keys: Int32Array,
  ) {
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.positions = new Int32Array(capacity);
    this.mask = size - 1;
  }

  /** The ring slot holding the key `words[0..3]` with `hash`, or -1. */
  find(hash: number, words: Int32Array): number {
    const { slots, hashes, keys, mask } = this;
    const a = words[0];
    const b = words[1];
    const c = words[2];
    const d = words[3];
    for (let i = (hash >>> 1) & mask; ; i = (i + 1) & mask) {
      const entry = slots[i]!;
      if (entry === 0) return -1;
      if (hashes[i] === hash) {
        const at = (entry - 1) * 4;
        if (keys[at] === a && keys[at + 1] === b && keys[at + 2] === c && keys[at + 3] === d) return entry - 1;
      }
    }
  }

  /** Indexes ring slot `ring` (its key already in the ring), which must not be indexed yet. */
  insert(hash: number, ring: number): void {
    const { slots, mask } = this;
    let i = (hash >>> 1) & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = ring + 1;
    this.hashes[i] = hash;
    this.positions[ring] = i;
  }

  /** Removes ring slot `ring`. */
  remove(ring: number): void {
    const { slots, hashes, positions, mask } = this;
    let hole = positions[ring]!;
    // Backward shift, as in protocol/string-table.ts: a later entry of the run moves into the hole
    // unless its home lies between the hole and it.
    for (let i = (hole + 1) & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const home = (hashes[i]! >>> 1) & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        const moved = slots[i]!;
        slots[hole] = moved;
        hashes[hole] = hashes[i]!;
        positions[moved - 1] = hole;
        hole = i;
      }
    }
    slots[hole] = 0;
    hashes[hole] = 0;
  }
}
